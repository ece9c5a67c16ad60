internal import CLibPQ
import Glibc

/// A failed libpq call: the server's SQLSTATE and message, and whether the connection is still usable.
struct PostgresError: Error, Sendable, CustomStringConvertible {
    /// Five-character SQLSTATE, `nil` for client-side failures (connection refused, lost, out of memory).
    var sqlState: String?
    /// libpq's / the server's message, one line.
    var message: String
    /// The connection is gone (`PQstatus` is `CONNECTION_BAD`): reconnect before the next attempt.
    var isConnectionBroken: Bool

    /// What the writer should do about it.
    enum Kind: Sendable, Equatable {
        /// Reconnect (with back-off) and retry the same batch.
        case connection
        /// A value PostgreSQL refuses (class 22 data exception, 23 integrity, 54 program limit): retry the
        /// batch row by row and set the refused rows aside.
        case data
        /// Anything else (missing table, permissions, serialization, resources): back off and retry.
        case other
    }

    var kind: Kind {
        if isConnectionBroken { return .connection }
        guard let sqlState else { return .connection }
        // 08: connection exception; 57P01-03: admin shutdown, crash shutdown, cannot connect now.
        if sqlState.hasPrefix("08") || sqlState.hasPrefix("57P") { return .connection }
        if sqlState.hasPrefix("22") || sqlState.hasPrefix("23") || sqlState.hasPrefix("54") { return .data }
        return .other
    }

    var description: String {
        (sqlState.map { "[\($0)] " } ?? "") + message
    }
}

/// The rows of a query in text format, copied out of the `PGresult` (which is already cleared).
struct QueryResult: Sendable {
    /// Row-major values; `nil` is SQL NULL.
    var rows: [[String?]]
    /// Rows affected by INSERT/UPDATE/DELETE/COPY (`PQcmdTuples`), 0 otherwise.
    var affectedRows: Int
}

/// The only owner of a libpq connection (`PGconn *`): created in `init`, `PQfinish`ed in `deinit`. Every
/// `PGresult` is copied into Swift values and `PQclear`ed before a method returns.
///
/// Blocking: every method waits for the server. Use it only on the persistence threads (or at start-up),
/// never on an event loop or in the cooperative thread pool.
final class PGConnection {
    private let connection: OpaquePointer

    /// Connects.
    ///
    /// - Parameters:
    ///   - url: A libpq URI (`postgresql://user:password@host:port/db?options`) or `key=value` string; its
    ///     settings win over the defaults given here.
    ///   - applicationName: `application_name`, visible in `pg_stat_activity`.
    ///   - connectTimeoutSeconds: `connect_timeout` unless the URL sets it.
    /// - Throws: ``PostgresError`` with libpq's message when the connection cannot be made.
    init(url: String, applicationName: String, connectTimeoutSeconds: Int) throws(PostgresError) {
        // Later keywords win, so `dbname` (the expanded URL) goes last and overrides these defaults.
        let keywords = [
            "connect_timeout", "application_name", "keepalives_idle", "keepalives_interval", "keepalives_count",
            "dbname",
        ]
        let values = ["\(max(2, connectTimeoutSeconds))", applicationName, "10", "5", "3", url]
        let pointer = withCStringArray(keywords) { keywordPointers in
            withCStringArray(values) { valuePointers in
                PQconnectdbParams(keywordPointers, valuePointers, 1)
            }
        }
        // NULL only when libpq cannot allocate the PGconn.
        guard let pointer else { preconditionFailure("PQconnectdbParams returned NULL (out of memory)") }
        if PQstatus(pointer) != CONNECTION_OK {
            let message = Self.message(PQerrorMessage(pointer))
            PQfinish(pointer)
            throw PostgresError(sqlState: nil, message: message, isConnectionBroken: true)
        }
        self.connection = pointer
        // NOTICEs (e.g. "relation already exists, skipping") would go to stderr by default.
        PQsetNoticeProcessor(connection, { _, _ in }, nil)
    }

    deinit {
        PQfinish(connection)
    }

    /// Checks that libpq can parse `url` (URI or `key=value` syntax); returns its error message if not.
    static func parseError(inURL url: String) -> String? {
        var errorMessage: UnsafeMutablePointer<CChar>?
        let options = PQconninfoParse(url, &errorMessage)
        defer {
            if let options { PQconninfoFree(options) }
            if let errorMessage { PQfreemem(errorMessage) }
        }
        if options != nil { return nil }
        return errorMessage.map { message(UnsafePointer($0)) } ?? "out of memory"
    }

    /// Whether the connection has failed (`PQstatus` is not `CONNECTION_OK`).
    var isBroken: Bool { PQstatus(connection) != CONNECTION_OK }

    /// The process id of the server backend serving this connection (`PQbackendPID`), on the server's host.
    var backendPID: Int32 { PQbackendPID(connection) }

    /// Runs one or more statements without parameters (`PQexec`); returns the last statement's rows.
    ///
    /// - Throws: ``PostgresError`` when a statement fails (the rest of a multi-statement string is skipped).
    @discardableResult
    func execute(_ sql: String) throws(PostgresError) -> QueryResult {
        let result = PQexec(connection, sql)
        return try consume(result)
    }

    /// Runs one statement with text parameters (`PQexecParams`); `nil` parameters are NULL.
    @discardableResult
    func execute(_ sql: String, parameters: [String?]) throws(PostgresError) -> QueryResult {
        let result = withOptionalCStringArray(parameters) { values in
            PQexecParams(connection, sql, Int32(parameters.count), nil, values, nil, nil, 0)
        }
        return try consume(result)
    }

    /// Prepares a named statement (`PQprepare`) with `parameterCount` parameters, types inferred.
    func prepare(name: String, sql: String, parameterCount: Int) throws(PostgresError) {
        let result = PQprepare(connection, name, sql, Int32(parameterCount), nil)
        _ = try consume(result)
    }

    /// Runs a prepared statement with text parameters (`PQexecPrepared`).
    @discardableResult
    func executePrepared(name: String, parameters: [String?]) throws(PostgresError) -> QueryResult {
        let result = withOptionalCStringArray(parameters) { values in
            PQexecPrepared(connection, name, Int32(parameters.count), values, nil, nil, 0)
        }
        return try consume(result)
    }

    /// Runs `COPY … FROM STDIN` and streams `data` (already in the COPY format of the statement).
    ///
    /// - Returns: The rows copied.
    @discardableResult
    func copyIn(_ sql: String, data: [UInt8]) throws(PostgresError) -> Int {
        do {
            let start = PQexec(connection, sql)
            defer { PQclear(start) }
            // PGRES_COPY_IN is the only success; anything else is an error result (or NULL: out of memory
            // or connection lost).
            if PQresultStatus(start) != PGRES_COPY_IN {
                throw error(from: start)
            }
        }
        let chunk = 1 << 20
        var offset = 0
        var sendFailed = false
        data.withUnsafeBytes { bytes in
            while offset < bytes.count {
                let count = min(chunk, bytes.count - offset)
                let pointer = bytes.baseAddress!.advanced(by: offset).assumingMemoryBound(to: CChar.self)
                // 1: queued; -1: failed (connection). 0 is only possible on a non-blocking connection.
                if PQputCopyData(connection, pointer, Int32(count)) != 1 {
                    sendFailed = true
                    return
                }
                offset += count
            }
        }
        if sendFailed || PQputCopyEnd(connection, nil) != 1 {
            drainResults()
            throw PostgresError(
                sqlState: nil,
                message: Self.message(PQerrorMessage(connection)),
                isConnectionBroken: isBroken
            )
        }
        // The COPY's outcome, then NULL.
        var failure: PostgresError?
        var copied = 0
        while let result = PQgetResult(connection) {
            defer { PQclear(result) }
            let status = PQresultStatus(result)
            if status == PGRES_COMMAND_OK {
                copied = Int(String(cString: PQcmdTuples(result))) ?? 0
            } else if failure == nil {
                failure = error(from: result)
            }
        }
        if let failure { throw failure }
        return copied
    }

    /// Reads every pending result so the connection is ready for the next command.
    private func drainResults() {
        while let result = PQgetResult(connection) { PQclear(result) }
    }

    /// Copies a result into Swift values and clears it, or throws its error.
    private func consume(_ result: OpaquePointer?) throws(PostgresError) -> QueryResult {
        defer { PQclear(result) }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_EMPTY_QUERY:
            return QueryResult(rows: [], affectedRows: Int(String(cString: PQcmdTuples(result))) ?? 0)
        case PGRES_TUPLES_OK:
            let rowCount = Int(PQntuples(result))
            let columnCount = Int(PQnfields(result))
            var rows: [[String?]] = []
            rows.reserveCapacity(rowCount)
            for row in 0..<Int32(rowCount) {
                var values: [String?] = []
                values.reserveCapacity(columnCount)
                for column in 0..<Int32(columnCount) {
                    if PQgetisnull(result, row, column) == 1 {
                        values.append(nil)
                    } else {
                        values.append(String(cString: PQgetvalue(result, row, column)))
                    }
                }
                rows.append(values)
            }
            return QueryResult(rows: rows, affectedRows: 0)
        default:
            // PGRES_FATAL_ERROR, PGRES_BAD_RESPONSE, NULL result (out of memory / connection lost), or a
            // COPY state we did not ask for: all reported as errors.
            throw error(from: result)
        }
    }

    private func error(from result: OpaquePointer?) -> PostgresError {
        guard let result else {
            return PostgresError(
                sqlState: nil,
                message: Self.message(PQerrorMessage(connection)),
                isConnectionBroken: isBroken
            )
        }
        let sqlState = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
        let message = Self.message(PQresultErrorMessage(result))
        return PostgresError(
            sqlState: sqlState,
            message: message.isEmpty ? "status \(PQresultStatus(result))" : message,
            isConnectionBroken: isBroken
        )
    }

    private static func message(_ pointer: UnsafePointer<CChar>?) -> String {
        guard let pointer else { return "" }
        return String(cString: pointer).split(whereSeparator: \.isNewline).joined(separator: " ")
    }
}

// Blocking and stateful (one command at a time): confined to the thread that created it.
@available(*, unavailable)
extension PGConnection: Sendable {}

/// Calls `body` with a C array of C strings for `strings`; valid only inside `body`.
private func withCStringArray<Result>(
    _ strings: [String],
    _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> Result
) -> Result {
    withOptionalCStringArray(strings) { body($0!) }
}

/// Like ``withCStringArray(_:_:)`` with NULL entries for `nil`, and a NULL array when empty.
private func withOptionalCStringArray<Result>(
    _ strings: [String?],
    _ body: (UnsafePointer<UnsafePointer<CChar>?>?) -> Result
) -> Result {
    let copies: [UnsafeMutablePointer<CChar>?] = strings.map { string in string.map { strdup($0)! } }
    defer { for copy in copies { free(copy) } }
    let constants = copies.map { $0.map { UnsafePointer($0) } }
    if constants.isEmpty {
        // A terminating NULL keeps PQconnectdbParams happy for the keyword arrays.
        return body(nil)
    }
    return (constants + [nil]).withUnsafeBufferPointer { body($0.baseAddress) }
}
