-- PUT a 1 KiB body to presigned URLs, one after another, in a loop.
-- Usage: wrk -s put.lua http://host:port -- /path/to/urls.txt [body_bytes]
-- urls.txt holds one presigned path+query per line (the signature covers the
-- Host header, which wrk derives from the URL given on its command line).
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")

local paths = {}
local next_index = 0
local body = nil

function init(args)
  for line in io.lines(args[1]) do
    if #line > 0 then paths[#paths + 1] = line end
  end
  body = string.rep("x", tonumber(args[2] or "1024"))
end

function request()
  next_index = next_index % #paths + 1
  return wrk.format("PUT", paths[next_index], nil, body)
end
