import FraudCore
import FraudWire
import FraudPersistence
import FraudService
import NIOHTTP1

/// One admin answer: status, content type and body.
struct AdminResponse: Sendable {
    var status: HTTPResponseStatus
    var contentType: String
    var body: String
    /// Extra response headers (`set-cookie`, `www-authenticate`, `retry-after`).
    var headers: [(String, String)] = []

    static func json(_ body: String, status: HTTPResponseStatus = .ok) -> AdminResponse {
        AdminResponse(status: status, contentType: "application/json", body: body)
    }

    static func badParameter(_ error: ParameterError) -> AdminResponse {
        .json(JSONText.parameterError(error.parameter, error.message), status: .badRequest)
    }
}

/// Maps admin requests to answers. Cheap endpoints (`/health`, `/metrics`, static pages) answer from
/// counters; analytics endpoints wait for the ``AnalyticsStore`` threads.
struct AdminRouter: Sendable {
    let context: AdminContext

    func handle(method: HTTPMethod, uri: String) async -> AdminResponse {
        let pathEnd = uri.firstIndex(of: "?") ?? uri.endIndex
        let path = String(uri[..<pathEnd])
        let query = pathEnd < uri.endIndex ? uri[uri.index(after: pathEnd)...] : ""
        guard method == .GET || method == .HEAD else {
            return .json(JSONText.error("only GET is supported"), status: .methodNotAllowed)
        }
        let pairs: [(String, String)]
        do throws(ParameterError) {
            pairs = try AnalyticsParameters.parse(query: query)
        } catch {
            return .badParameter(error)
        }
        switch path {
        case "/", "":
            return .json(
                JSONText.object([
                    "health": "\"/health\"", "metrics": "\"/metrics\"", "openapi": "\"/openapi.json\"",
                    "docs": "\"/docs\"", "dashboard": "\"/dashboard\"",
                ])
            )
        case "/health": return health()
        case "/metrics":
            return AdminResponse(
                status: .ok,
                contentType: "text/plain; version=0.0.4; charset=utf-8",
                body: PrometheusExposition.render(context)
            )
        case "/api/v1/live": return .json(LiveCounters.json(context))
        case "/openapi.json": return .json(AdminStaticContent.openAPI)
        case "/docs": return AdminResponse(status: .ok, contentType: "text/html; charset=utf-8", body: AdminStaticContent.docs)
        case "/dashboard":
            return AdminResponse(status: .ok, contentType: "text/html; charset=utf-8", body: AdminStaticContent.dashboard)
        case "/api/v1/analytics/transactions": return await listing(pairs, alertsOnly: false)
        case "/api/v1/analytics/fraud-alerts": return await listing(pairs, alertsOnly: true)
        case "/api/v1/analytics/summary": return await summary(pairs)
        default:
            let prefix = "/api/v1/analytics/accounts/"
            if path.hasPrefix(prefix) {
                return await account(String(path.dropFirst(prefix.count)), pairs)
            }
            return .json(JSONText.error("no such endpoint: \(path) (see /openapi.json)"), status: .notFound)
        }
    }

    private func health() -> AdminResponse {
        let serving = context.service.servingStatus(of: "") == .serving
        var fields: [(String, String)] = []
        let stats = context.decisionLog?.stats
        let isReachable = stats.map { !$0.isPostgresConfigured || $0.isPostgresReachable } ?? true
        let status = !serving ? "not_serving" : (isReachable ? "ok" : "degraded")
        fields.append(("status", JSONText.string(status)))
        fields.append(("serving", serving ? "true" : "false"))
        fields.append(
            (
                "postgres",
                JSONText.object([
                    "configured": (stats?.isPostgresConfigured ?? false) ? "true" : "false",
                    "reachable": (stats?.isPostgresReachable ?? false) ? "true" : "false",
                ])
            )
        )
        if let stats {
            fields.append(
                (
                    "journal",
                    JSONText.object([
                        "backlog": "\(stats.backlog)", "appended": "\(stats.appended)",
                        "committed": "\(stats.committed)", "queued_in_memory": "\(stats.queuedInMemory)",
                        "quarantined_files": "\(stats.quarantinedFiles.count)",
                        "commit_lag_ms": "\(stats.commitLagMillis)",
                        "writer_deferring": stats.isWriterDeferring ? "true" : "false",
                    ])
                )
            )
        }
        fields.append(("model_version", JSONText.string(context.engine.modelVersion)))
        fields.append(("velocity_accounts", "\(context.engine.accountCount)"))
        return .json(JSONText.object(fields), status: serving ? .ok : .serviceUnavailable)
    }

    private func unavailable(_ error: AnalyticsError) -> AdminResponse {
        .json(JSONText.error(error.description), status: error.code == .timeout ? .gatewayTimeout : .serviceUnavailable)
    }

    private var noStore: AdminResponse {
        .json(JSONText.error("analytics need PostgreSQL (--postgres-url)"), status: .serviceUnavailable)
    }

    private func isExplain(_ pairs: [(String, String)]) throws(ParameterError) -> Bool {
        guard let value = pairs.last(where: { $0.0 == "explain" })?.1 else { return false }
        switch value {
        case "1", "true": return true
        case "0", "false": return false
        default: throw ParameterError(parameter: "explain", message: "must be true or false (got \"\(value)\")")
        }
    }

    private func plan(_ lines: [String]) -> AdminResponse {
        .json(JSONText.object(["plan": JSONText.array(lines.map(JSONText.string))]))
    }

    private func listing(_ pairs: [(String, String)], alertsOnly: Bool) async -> AdminResponse {
        guard let store = context.analytics else { return noStore }
        var filter: AnalyticsFilter
        let explain: Bool
        do throws(ParameterError) {
            filter = try AnalyticsParameters.filter(
                from: pairs,
                allowedDecisions: alertsOnly ? ["REVIEW", "DECLINE"] : AnalyticsParameters.decisions
            )
            explain = try isExplain(pairs)
        } catch {
            return .badParameter(error)
        }
        if alertsOnly && filter.decisions.isEmpty { filter.decisions = ["REVIEW", "DECLINE"] }
        do throws(AnalyticsError) {
            if explain { return plan(try await store.explain(.transactions, filter: filter)) }
            let page = try await store.transactions(filter)
            let next = page.next.map { JSONText.string(CursorCoding.encode($0)) } ?? "null"
            return .json(
                JSONText.object([
                    "items": JSONText.array(page.itemsJSON), "count": "\(page.itemsJSON.count)", "next_cursor": next,
                ])
            )
        } catch {
            return unavailable(error)
        }
    }

    private func summary(_ pairs: [(String, String)]) async -> AdminResponse {
        guard let store = context.analytics else { return noStore }
        var window = 60
        let explain: Bool
        do throws(ParameterError) {
            for (name, value) in pairs {
                switch name {
                case "window_minutes":
                    guard let minutes = Int(value), (1...10_080).contains(minutes) else {
                        throw ParameterError(
                            parameter: name,
                            message: "must be an integer from 1 to 10080 (got \"\(value)\")"
                        )
                    }
                    window = minutes
                case "explain": continue
                default: throw ParameterError(parameter: name, message: "is not a parameter of this endpoint")
                }
            }
            explain = try isExplain(pairs)
        } catch {
            return .badParameter(error)
        }
        do throws(AnalyticsError) {
            if explain { return plan(try await store.explain(.summary, filter: AnalyticsFilter())) }
            return .json(try await store.summary(windowMinutes: window))
        } catch {
            return unavailable(error)
        }
    }

    private func account(_ rawID: String, _ pairs: [(String, String)]) async -> AdminResponse {
        guard let id = AnalyticsParameters.percentDecoded(Substring(rawID)), !id.isEmpty, id.utf8.count <= 256,
            !id.contains("/")
        else {
            return .badParameter(ParameterError(parameter: "id", message: "must be an account id of 1 to 256 bytes"))
        }
        var limit = 50
        var step: UInt32?
        let explain: Bool
        do throws(ParameterError) {
            for (name, value) in pairs {
                switch name {
                case "limit":
                    guard let number = Int(value), (1...AnalyticsParameters.maxLimit).contains(number) else {
                        throw ParameterError(parameter: name, message: "must be an integer from 1 to 1000 (got \"\(value)\")")
                    }
                    limit = number
                case "step": step = try AnalyticsParameters.unsigned(name, value)
                case "explain": continue
                default: throw ParameterError(parameter: name, message: "is not a parameter of this endpoint")
                }
            }
            explain = try isExplain(pairs)
        } catch {
            return .badParameter(error)
        }
        var activity = "[]"
        var lastStep: UInt32?
        if let store = context.analytics {
            do throws(AnalyticsError) {
                if explain {
                    var filter = AnalyticsFilter()
                    filter.account = id
                    filter.limit = limit
                    return plan(try await store.explain(.account, filter: filter))
                }
                (activity, lastStep) = try await store.accountActivity(account: id, limit: limit)
            } catch {
                return unavailable(error)
            }
        }
        let asOf = step ?? lastStep ?? 0
        let snapshot = context.engine.velocitySnapshot(account: id, step: asOf)
        let velocity = JSONText.object([
            "as_of_step": "\(asOf)",
            "count_last_step": "\(snapshot.countLastStep)",
            "amount_last_step_cents": "\(snapshot.amountLastStepCents)",
            "count_last_24_steps": "\(snapshot.countLast24Steps)",
            "amount_last_24_steps_cents": "\(snapshot.amountLast24StepsCents)",
            "distinct_counterparties_last_24_steps": "\(snapshot.distinctCounterpartiesLast24Steps)",
            "steps_since_last_seen": snapshot.stepsSinceLastSeen.map { "\($0)" } ?? "null",
            "known": snapshot.isUnseen ? "false" : "true",
        ])
        return .json(
            JSONText.object([
                "account": JSONText.string(id), "velocity": velocity, "recent": activity,
                "last_step": lastStep.map { "\($0)" } ?? "null",
            ])
        )
    }
}
