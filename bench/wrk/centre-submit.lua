-- The privacy centre's form, each time from a different address: the request is stored and its
-- identity code e-mailed (here written to the mail folder) before the 303 answer.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
local n = 0
request = function()
  n = n + 1
  local body = string.format("kind=erasure&lang=en&email=bench-%d-%d%%40example.com",
    math.random(1, 1000000000), n)
  return wrk.format(nil, nil, nil, body)
end
