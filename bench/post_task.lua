-- wrk script for POST /api/tasks: a JSON body; the Authorization header comes from wrk's -H.
--   wrk -t1 -c16 -d10s -s bench/post_task.lua -H "Authorization: Bearer $TOKEN" URL/api/tasks
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"title": "Buy milk", "description": "Two litres, semi-skimmed", '
    .. '"priority": "low", "tags": ["groceries", "errands"]}'
