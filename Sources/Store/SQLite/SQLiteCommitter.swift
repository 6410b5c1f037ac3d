import GRDB

/// Commits SQLite batches for the ``GroupCommitWriter``: on the writer's own thread, one transaction per
/// batch (one fsync with `synchronous = FULL`), each job in its own savepoint so that a failing job rolls
/// back alone.
///
/// GRDB's synchronous `writeWithoutTransaction` runs the block on the calling thread when its serial queue is
/// free, which it is here (this thread is the only writer), so a batch costs no hop to a database queue.
struct SQLiteCommitter: BatchCommitter {
    let pool: DatabasePool

    func weight(of call: WriteJob<Database>) -> Int { 1 }

    func fail(_ call: WriteJob<Database>, with error: StoreError) {
        LoopAnswers.answer(on: call.loop) { call.fail(error) }
    }

    /// Runs every job of the batch in one transaction, then answers each job after the commit (or with the
    /// commit's error), with one hop to each event loop concerned.
    func commit(_ batch: [WriteJob<Database>]) {
        var answers = LoopAnswers()
        // The block catches every error (a closed pool fails its statements, inside), so this never throws.
        pool.writeWithoutTransaction { db in
            var performed: [@Sendable ((any Error)?) -> Void] = []
            performed.reserveCapacity(batch.count)
            do {
                try db.inTransaction(.immediate) {
                    for job in batch {
                        guard job.isolated else {
                            let outcome = job.perform(db)
                            performed.append(outcome.answer)
                            if outcome.failed { throw SQLiteStore.BatchAborted() }
                            continue
                        }
                        var answer: (@Sendable ((any Error)?) -> Void)?
                        try db.inSavepoint {
                            let outcome = job.perform(db)
                            answer = outcome.answer
                            return outcome.failed ? .rollback : .commit
                        }
                        if let answer { performed.append(answer) }
                    }
                    return .commit
                }
            } catch {
                let failure = SQLiteStore.map(error, operation: "commit")
                for (index, job) in batch.enumerated() {
                    if index < performed.count {
                        let answer = performed[index]
                        answers.add(on: job.loop) { answer(failure) }
                    } else {
                        answers.add(on: job.loop) { job.fail(failure) }
                    }
                }
                return
            }
            for (job, answer) in zip(batch, performed) {
                answers.add(on: job.loop) { answer(nil) }
            }
        }
        answers.deliver()
    }
}
