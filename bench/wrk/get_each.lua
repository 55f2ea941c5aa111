-- GET presigned URLs, one after another, each once (one-time links).
-- Usage: wrk -s get_each.lua http://host:port -- /path/to/urls.txt
-- urls.txt holds one path+query per line; make more than wrk can fetch.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")

local paths = {}
local next_index = 0

function init(args)
  for line in io.lines(args[1]) do
    if #line > 0 then paths[#paths + 1] = line end
  end
end

function request()
  next_index = next_index % #paths + 1
  return wrk.format("GET", paths[next_index])
end
