-- Every request with a fixed Host header (a distribution's domain name,
-- the first script argument), and wrk's summary as report.lua prints it.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "report.lua")

function init(args)
  wrk.headers["Host"] = args[1]
end
