-- One consent event per request through the API, each for a different subject.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("OMBUD_API_TOKEN")
local n = 0
request = function()
  n = n + 1
  local body = string.format(
    '{"events":[{"subject":"customer:bench-%d-%d","target":"purpose:marketing","granted":true,"method":"form","wording_hash":"%s"}]}',
    math.random(1, 1000000000), n, string.rep("ab", 32))
  return wrk.format(nil, nil, nil, body)
end
