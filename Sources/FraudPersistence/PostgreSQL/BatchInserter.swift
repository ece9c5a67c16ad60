/// Writes a batch of records into `decisions` idempotently, in one transaction, by one of the methods of
/// ``PersistenceConfiguration/InsertMethod``.
///
/// `synchronous_commit` stays at the server default (`on`): the writer advances the commit marker and
/// removes journal segments as soon as a commit returns, so a commit must survive a PostgreSQL crash.
struct BatchInserter: Sendable {
    let method: PersistenceConfiguration.InsertMethod

    /// `decisions` columns in COPY-line order (see ``DecisionRecord/appendCopyLine(to:)``).
    private static let targetColumns = DecisionRecord.copyColumnNames.joined(separator: ", ")

    /// The unnest select list: the array columns, `scored_at_us` → `scored_at` (the µs count is below 2^53,
    /// so the float8 interval product is exact).
    private static let unnestSelect = """
        transaction_id, step, type, amount_cents, origin_account, origin_balance_before_cents, \
        origin_balance_after_cents, destination_account, destination_balance_before_cents, \
        destination_balance_after_cents, label, risk_score, decision, reasons, model_version, \
        server_time_us, timestamptz 'epoch' + scored_at_us * interval '1 microsecond'
        """

    private static let stagingTable = "decisions_incoming"
    private static let statementName = "fraud_insert_decisions"
    private static let uniqueViolation = "23505"

    /// Per-connection set-up: the temporary staging table (`copy`, `stagedCopy`) or the prepared statement
    /// (`unnest`).
    func prepare(on connection: PGConnection) throws(PostgresError) {
        switch method {
        case .copy, .stagedCopy:
            // Same columns as decisions, no constraints; emptied by every commit.
            let columns = zip(DecisionRecord.copyColumnNames, DecisionRecord.copyColumnTypes).map { "\($0) \($1)" }
            try connection.execute(
                "CREATE TEMPORARY TABLE IF NOT EXISTS \(Self.stagingTable) (\(columns.joined(separator: ", "))) "
                    + "ON COMMIT DELETE ROWS"
            )
        case .unnest:
            let arrays = DecisionRecord.columnTypes.enumerated().map { "$\($0.offset + 1)::\($0.element)[]" }
            try connection.prepare(
                name: Self.statementName,
                sql: """
                    INSERT INTO decisions (\(Self.targetColumns))
                    SELECT \(Self.unnestSelect)
                    FROM unnest(\(arrays.joined(separator: ", "))) AS t(\(DecisionRecord.columnNames.joined(separator: ", ")))
                    ON CONFLICT (transaction_id) DO NOTHING
                    """,
                parameterCount: DecisionRecord.columnNames.count
            )
        }
    }

    /// Inserts `records` (rows whose `transaction_id` exists are skipped) and commits.
    ///
    /// - Returns: Rows actually inserted.
    /// - Throws: ``PostgresError``; the transaction is rolled back, nothing of the batch is stored.
    @discardableResult
    func insert(_ records: [DecisionRecord], on connection: PGConnection) throws(PostgresError) -> Int {
        switch method {
        case .copy:
            let data = Self.copyData(records)
            do {
                // One statement, so its own transaction: all rows or none.
                return try connection.copyIn("COPY decisions (\(Self.targetColumns)) FROM STDIN", data: data)
            } catch  where error.sqlState == Self.uniqueViolation {
                // A replay (or retry) of rows already stored: nothing was written, go the idempotent way.
                return try stagedInsert(data, on: connection)
            }
        case .stagedCopy:
            return try stagedInsert(Self.copyData(records), on: connection)
        case .unnest:
            var columns = [[String?]](repeating: [], count: DecisionRecord.columnNames.count)
            for index in columns.indices { columns[index].reserveCapacity(records.count) }
            for record in records {
                for (index, value) in record.columnTexts.enumerated() { columns[index].append(value) }
            }
            return try connection.executePrepared(
                name: Self.statementName,
                parameters: columns.map { Self.arrayLiteral($0) }
            ).affectedRows
        }
    }

    private static func copyData(_ records: [DecisionRecord]) -> [UInt8] {
        var data: [UInt8] = []
        data.reserveCapacity(records.count * 400)
        for record in records { record.appendCopyLine(to: &data) }
        return data
    }

    /// COPY into the staging table, then `INSERT … SELECT … ON CONFLICT (transaction_id) DO NOTHING`, in one
    /// transaction.
    private func stagedInsert(_ data: [UInt8], on connection: PGConnection) throws(PostgresError) -> Int {
        do {
            try connection.execute("BEGIN")
            try connection.copyIn("COPY \(Self.stagingTable) FROM STDIN", data: data)
            let inserted = try connection.execute(
                "INSERT INTO decisions (\(Self.targetColumns)) SELECT \(Self.targetColumns) FROM \(Self.stagingTable) "
                    + "ON CONFLICT (transaction_id) DO NOTHING"
            ).affectedRows
            try connection.execute("COMMIT")
            return inserted
        } catch {
            if !connection.isBroken { _ = try? connection.execute("ROLLBACK") }
            throw error
        }
    }

    /// A PostgreSQL array literal of quoted elements: `{"a","b\"c",NULL}`.
    static func arrayLiteral(_ values: [String?]) -> String {
        var literal = "{"
        literal.reserveCapacity(values.count * 16)
        for (index, value) in values.enumerated() {
            if index > 0 { literal += "," }
            guard let value else {
                literal += "NULL"
                continue
            }
            literal += "\""
            for character in value.unicodeScalars {
                if character == "\"" || character == "\\" { literal += "\\" }
                literal.unicodeScalars.append(character)
            }
            literal += "\""
        }
        return literal + "}"
    }
}
