import Foundation
import NIOHTTP1

/// One admin request as the router sees it.
struct AdminRequest: Sendable {
    var method: HTTPMethod
    var uri: String
    /// The token from `Authorization: Bearer …`, else from the `fraud_token` cookie the login sets.
    var token: String?
    var body: [UInt8]
    var peer: String
}

extension AdminRouter {
    /// The level each route needs (paths not listed are analyst-level: unknown paths give 404 only to
    /// callers who may read the API).
    static func accessLevel(of path: String) -> AdminAccessLevel {
        switch path {
        case "/", "", "/health", "/openapi.json", "/docs", "/dashboard", "/api/v1/auth/login": .open
        case "/metrics": .admin
        default: .analyst
        }
    }

    /// Authenticates, authorizes and answers one request (login included).
    func handle(_ request: AdminRequest) async -> AdminResponse {
        let pathEnd = request.uri.firstIndex(of: "?") ?? request.uri.endIndex
        let path = String(request.uri[..<pathEnd])
        if path == "/api/v1/auth/login" {
            return await login(request)
        }
        if let access = context.access {
            switch access.check(token: request.token, requires: Self.accessLevel(of: path), peer: request.peer, resource: path) {
            case .allowed:
                break
            case .unauthenticated(let message):
                var response = AdminResponse.json(JSONText.error(message), status: .unauthorized)
                response.headers.append(("www-authenticate", "Bearer realm=\"fraud-admin\""))
                return response
            case .forbidden(let message):
                return .json(JSONText.error(message), status: .forbidden)
            }
        }
        return await handle(method: request.method, uri: request.uri)
    }

    /// `POST /api/v1/auth/login` with `{"username": …, "password": …}` → `{"access_token": …}`; also sets
    /// an HttpOnly, SameSite=Strict `fraud_token` cookie so the dashboard page can call the API.
    private func login(_ request: AdminRequest) async -> AdminResponse {
        guard request.method == .POST else {
            return .json(JSONText.error("login takes POST with a JSON body {\"username\", \"password\"}"), status: .methodNotAllowed)
        }
        guard let access = context.access else {
            return .json(JSONText.error("authentication is off on this server (--auth off)"), status: .notFound)
        }
        guard let object = try? JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any] else {
            return .json(JSONText.parameterError("body", "must be a JSON object {\"username\", \"password\"}"), status: .badRequest)
        }
        guard let username = object["username"] as? String, !username.isEmpty, username.utf8.count <= 256 else {
            return .json(JSONText.parameterError("username", "must be a non-empty string"), status: .badRequest)
        }
        guard let password = object["password"] as? String, !password.isEmpty, password.utf8.count <= 1024 else {
            return .json(JSONText.parameterError("password", "must be a non-empty string"), status: .badRequest)
        }
        switch await access.login(username: username, password: password, peer: request.peer) {
        case .issued(let token, let role, let expiresIn):
            var response = AdminResponse.json(
                JSONText.object([
                    "access_token": JSONText.string(token), "token_type": "\"Bearer\"",
                    "expires_in": "\(expiresIn)", "role": JSONText.string(role),
                ])
            )
            response.headers.append(
                ("set-cookie", "fraud_token=\(token); Path=/; Max-Age=\(expiresIn); HttpOnly; SameSite=Strict")
            )
            return response
        case .rejected(let message):
            return .json(JSONText.error(message), status: .unauthorized)
        case .throttled(let seconds):
            var response = AdminResponse.json(
                JSONText.error("too many failed logins; retry after \(seconds) s"),
                status: .tooManyRequests
            )
            response.headers.append(("retry-after", "\(seconds)"))
            return response
        }
    }
}
