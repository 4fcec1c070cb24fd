-- A banner choice as the banner posts it; every request is a new visitor (no cookie), so each
-- one records three ledger events (one per category that needs consent).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = os.getenv("OMBUD_CHOICE")
