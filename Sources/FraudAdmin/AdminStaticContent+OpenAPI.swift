extension AdminStaticContent {
    /// The OpenAPI 3.1 description of the admin port, served at `/openapi.json`.
    static let openAPI = #"""
        {
          "openapi": "3.1.0",
          "info": {
            "title": "fraud-server admin and analytics API",
            "version": "1.0.0",
            "description": "HTTP/1.1 + JSON on --admin-port (default 8061). Analytics read the PostgreSQL table `decisions` on their own connections and threads (never the scoring event loops), with a 2 s statement timeout; each listing has an index behind it (add explain=true to any analytics call to see the plan). Bad parameters answer 400 with {\"error\": {\"parameter\", \"message\"}}; PostgreSQL trouble answers 503 (504 on statement timeout)."
          },
          "paths": {
            "/health": {
              "get": {
                "summary": "Liveness and readiness",
                "description": "200 while SERVING (status ok, or degraded when PostgreSQL is unreachable and the journal takes the decisions), 503 while draining or over the backlog cap.",
                "responses": {
                  "200": {"description": "Serving", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Health"}}}},
                  "503": {"description": "Not serving", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Health"}}}}
                }
              }
            },
            "/metrics": {
              "get": {
                "summary": "Prometheus text exposition (0.0.4)",
                "description": "fraud_rpc_requests_total{method,code}, fraud_rpc_duration_seconds{method,code} (histogram), fraud_decisions_total{decision}, fraud_decisions_by_type_total{type,decision}, fraud_decision_reasons_total{code}, fraud_replays_total, fraud_refusals_total{code}, fraud_velocity_accounts, fraud_idempotency_entries, fraud_serving, fraud_model_info{version}, fraud_journal_backlog, fraud_journal_queued, fraud_journal_appended_total, fraud_postgres_committed_total, fraud_postgres_rejected_rows_total, fraud_postgres_commit_lag_seconds, fraud_postgres_last_batch_size, fraud_postgres_configured, fraud_postgres_reachable, process_resident_memory_bytes. No account ids as labels.",
                "responses": {"200": {"description": "Metrics", "content": {"text/plain": {"schema": {"type": "string"}}}}}
              }
            },
            "/api/v1/live": {
              "get": {
                "summary": "In-process counters for the dashboard",
                "description": "Decisions by outcome and by type, reason counts, non-cumulative Score latency buckets, journal backlog. Rates come from the difference between two polls.",
                "responses": {"200": {"description": "Counters", "content": {"application/json": {"schema": {"type": "object"}}}}}
              }
            },
            "/api/v1/analytics/transactions": {
              "get": {
                "summary": "Scored transactions, newest first",
                "description": "Order: scored_at DESC, transaction_id DESC (stable). Keyset pagination: pass next_cursor back as cursor; no row is missed or repeated across pages.",
                "parameters": [
                  {"$ref": "#/components/parameters/account"}, {"$ref": "#/components/parameters/type"},
                  {"name": "decision", "in": "query", "description": "APPROVE, REVIEW, DECLINE (comma-separated: any of them)", "schema": {"type": "string"}},
                  {"$ref": "#/components/parameters/step_from"}, {"$ref": "#/components/parameters/step_to"},
                  {"$ref": "#/components/parameters/since"}, {"$ref": "#/components/parameters/until"},
                  {"$ref": "#/components/parameters/min_score"}, {"$ref": "#/components/parameters/max_score"},
                  {"$ref": "#/components/parameters/limit"}, {"$ref": "#/components/parameters/cursor"},
                  {"$ref": "#/components/parameters/explain"}
                ],
                "responses": {
                  "200": {"description": "One page", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Page"}}}},
                  "400": {"$ref": "#/components/responses/BadParameter"},
                  "503": {"$ref": "#/components/responses/Unavailable"}
                }
              }
            },
            "/api/v1/analytics/fraud-alerts": {
              "get": {
                "summary": "REVIEW and DECLINE decisions with their reasons, newest first",
                "description": "Same filters and pagination as /transactions; decision may only narrow to REVIEW or DECLINE.",
                "parameters": [
                  {"$ref": "#/components/parameters/account"}, {"$ref": "#/components/parameters/type"},
                  {"name": "decision", "in": "query", "description": "REVIEW or DECLINE (default both)", "schema": {"type": "string"}},
                  {"$ref": "#/components/parameters/step_from"}, {"$ref": "#/components/parameters/step_to"},
                  {"$ref": "#/components/parameters/since"}, {"$ref": "#/components/parameters/until"},
                  {"$ref": "#/components/parameters/min_score"}, {"$ref": "#/components/parameters/max_score"},
                  {"$ref": "#/components/parameters/limit"}, {"$ref": "#/components/parameters/cursor"},
                  {"$ref": "#/components/parameters/explain"}
                ],
                "responses": {
                  "200": {"description": "One page", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Page"}}}},
                  "400": {"$ref": "#/components/responses/BadParameter"},
                  "503": {"$ref": "#/components/responses/Unavailable"}
                }
              }
            },
            "/api/v1/analytics/summary": {
              "get": {
                "summary": "Aggregates over the last window_minutes of scored_at",
                "description": "total; by_type (total, flagged, flagged_rate, labelled, labelled_fraud, fraud_rate); by_decision; amount_cents quantiles (p50, p90, p99, max); amount_decades (log10 buckets); top_reasons of flagged decisions; per_minute decisions (last 15 minutes); live_quality: precision and recall of REVIEW+DECLINE against the label where it is known. Read from rollup tables kept by PostgreSQL in the writer's transaction, so the cost does not grow with the rows in the window. The window is whole UTC minutes: the current minute and the window_minutes before it. Every figure is exact except p50, p90 and p99: they come from a histogram of 24 geometric buckets per decade (the bucket's geometric middle, clamped to the window's min and max) and are within 4.9 % of the exact value (percentile_disc); max is exact. The answer is cached for 1 s.",
                "parameters": [
                  {"name": "window_minutes", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 10080, "default": 60}},
                  {"$ref": "#/components/parameters/explain"}
                ],
                "responses": {
                  "200": {"description": "Summary", "content": {"application/json": {"schema": {"type": "object"}}}},
                  "400": {"$ref": "#/components/responses/BadParameter"},
                  "503": {"$ref": "#/components/responses/Unavailable"}
                }
              }
            },
            "/api/v1/analytics/accounts/{id}": {
              "get": {
                "summary": "An account's recent activity and current velocity figures",
                "parameters": [
                  {"name": "id", "in": "path", "required": true, "schema": {"type": "string"}},
                  {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 50}},
                  {"name": "step", "in": "query", "description": "Event step of the velocity figures (default: the account's latest stored step)", "schema": {"type": "integer", "minimum": 0}},
                  {"$ref": "#/components/parameters/explain"}
                ],
                "responses": {
                  "200": {"description": "Activity (newest step first, as origin or destination) and velocity", "content": {"application/json": {"schema": {"type": "object"}}}},
                  "400": {"$ref": "#/components/responses/BadParameter"},
                  "503": {"$ref": "#/components/responses/Unavailable"}
                }
              }
            },
            "/openapi.json": {"get": {"summary": "This document", "responses": {"200": {"description": "OpenAPI 3.1"}}}},
            "/docs": {"get": {"summary": "This document, readable", "responses": {"200": {"description": "HTML"}}}},
            "/dashboard": {"get": {"summary": "Live dashboard (HTML/JS/SVG, polls /api/v1/live every second)", "responses": {"200": {"description": "HTML"}}}}
          },
          "components": {
            "parameters": {
              "account": {"name": "account", "in": "query", "description": "Origin or destination account", "schema": {"type": "string"}},
              "type": {"name": "type", "in": "query", "description": "PAYMENT, TRANSFER, CASH_OUT, CASH_IN, DEBIT (comma-separated: any of them)", "schema": {"type": "string"}},
              "step_from": {"name": "step_from", "in": "query", "description": "Event step, inclusive", "schema": {"type": "integer", "minimum": 0}},
              "step_to": {"name": "step_to", "in": "query", "description": "Event step, inclusive", "schema": {"type": "integer", "minimum": 0}},
              "since": {"name": "since", "in": "query", "description": "scored_at at or after: Unix seconds or RFC 3339 UTC", "schema": {"type": "string"}},
              "until": {"name": "until", "in": "query", "description": "scored_at before: Unix seconds or RFC 3339 UTC", "schema": {"type": "string"}},
              "min_score": {"name": "min_score", "in": "query", "schema": {"type": "number", "minimum": 0, "maximum": 1}},
              "max_score": {"name": "max_score", "in": "query", "schema": {"type": "number", "minimum": 0, "maximum": 1}},
              "limit": {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}},
              "cursor": {"name": "cursor", "in": "query", "description": "next_cursor of the previous page", "schema": {"type": "string"}},
              "explain": {"name": "explain", "in": "query", "description": "true: return the query plan (EXPLAIN, sequential scans disabled) instead of rows", "schema": {"type": "boolean"}}
            },
            "responses": {
              "BadParameter": {"description": "A parameter is wrong", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ParameterError"}}}},
              "Unavailable": {"description": "PostgreSQL not configured or unreachable (504: statement timeout)", "content": {"application/json": {"schema": {"type": "object"}}}}
            },
            "schemas": {
              "ParameterError": {
                "type": "object",
                "properties": {"error": {"type": "object", "properties": {"parameter": {"type": "string"}, "message": {"type": "string"}}, "required": ["parameter", "message"]}}
              },
              "Health": {
                "type": "object",
                "properties": {
                  "status": {"enum": ["ok", "degraded", "not_serving"]},
                  "serving": {"type": "boolean"},
                  "postgres": {"type": "object", "properties": {"configured": {"type": "boolean"}, "reachable": {"type": "boolean"}}},
                  "journal": {"type": "object", "properties": {"backlog": {"type": "integer"}, "appended": {"type": "integer"}, "committed": {"type": "integer"}}},
                  "model_version": {"type": "string"},
                  "velocity_accounts": {"type": "integer"}
                }
              },
              "Decision": {
                "type": "object",
                "properties": {
                  "transaction_id": {"type": "string"}, "step": {"type": "integer"}, "type": {"type": "string"},
                  "amount_cents": {"type": "integer"}, "origin_account": {"type": "string"}, "destination_account": {"type": "string"},
                  "label": {"type": ["string", "null"]}, "risk_score": {"type": "number"},
                  "decision": {"enum": ["APPROVE", "REVIEW", "DECLINE"]},
                  "reasons": {"type": "array", "items": {"type": "object", "properties": {"code": {"type": "string"}, "detail": {"type": "string"}, "weight": {"type": "number"}}}},
                  "model_version": {"type": "string"}, "server_time_us": {"type": "integer"}, "scored_at": {"type": "string", "format": "date-time"}
                }
              },
              "Page": {
                "type": "object",
                "properties": {
                  "items": {"type": "array", "items": {"$ref": "#/components/schemas/Decision"}},
                  "count": {"type": "integer"},
                  "next_cursor": {"type": ["string", "null"]}
                }
              }
            }
          }
        }
        """#
}
