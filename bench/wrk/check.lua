-- Consent checks with the API token.
wrk.headers["Authorization"] = "Bearer " .. os.getenv("OMBUD_API_TOKEN")
