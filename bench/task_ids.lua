-- wrk script: each request goes to the next task of a list of ids (a file, one id a line),
-- /api/tasks/<id><suffix>, with the given method and, in turn, the given JSON bodies (none:
-- no body). The Authorization header comes from wrk's -H. After the last id it starts again at
-- the first, and the bodies shift by one, so a task does not get the same body on every pass.
--   wrk -t1 -c32 -d10s -s bench/task_ids.lua -H "Authorization: Bearer $TOKEN" URL \
--       -- ids.txt 1 PATCH "" '{"priority": "high"}' '{"priority": "low"}'
--   wrk -t1 ... -s bench/task_ids.lua ... URL -- ids.txt 1 POST /complete
-- The second argument is wrk's -t: thread k of n takes ids k, k + n, k + 2n, ... (wrk starts
-- each thread before it sets up the next, so the script cannot count them itself).
local count = 0

function setup(thread)
    count = count + 1
    thread:set("first", count)
end

local ids, bodies = {}, {}
local method, suffix, stride
local position, sent, pass = 1, 0, 0

function init(args)
    local file = assert(args[1], "usage: -- IDS_FILE THREADS METHOD SUFFIX [BODY ...]")
    stride = tonumber(args[2]) or 1
    method, suffix = args[3] or "GET", args[4] or ""
    for line in io.lines(file) do
        if line ~= "" then
            table.insert(ids, line)
        end
    end
    assert(#ids > 0, "no ids in " .. file)
    for i = 5, #args do
        table.insert(bodies, args[i])
    end
    if #bodies > 0 then
        wrk.headers["Content-Type"] = "application/json"
    end
    position = first or 1
    assert(position <= #ids, "fewer ids than threads")
end

function request()
    local id = ids[position]
    local body = nil
    if #bodies > 0 then
        body = bodies[(sent + pass) % #bodies + 1]
    end
    sent = sent + 1
    position = position + stride
    if position > #ids then
        position = (position - 1) % #ids + 1
        pass = pass + 1
    end
    return wrk.format(method, "/api/tasks/" .. id .. suffix, nil, body)
end
