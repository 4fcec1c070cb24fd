-- One rights request per call through the staff API, each from a different address.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("OMBUD_API_TOKEN")
local n = 0
request = function()
  n = n + 1
  local body = string.format(
    '{"kind":"access","email":"bench-%d-%d@example.com","channel":"email"}',
    math.random(1, 1000000000), n)
  return wrk.format(nil, nil, nil, body)
end
