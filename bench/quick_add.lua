-- wrk script for POST /api/tasks/quick: the words of bench/post_task.lua's task, with a due time.
--   wrk -t1 -c16 -d10s -s bench/quick_add.lua -H "Authorization: Bearer $TOKEN" URL/api/tasks/quick
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"text": "Buy milk tomorrow 5pm @groceries @errands p3"}'
