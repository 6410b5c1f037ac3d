/// The worker side of a multi-process run: a child started by the coordinator with `--worker-index`, serving
/// commands from standard input with its ``LoadEngine`` and answering with JSON lines on standard output.
///
/// It stops by itself when its standard input ends (the coordinator went away) or at its hard deadline.
struct WorkerServer {
    /// The run's settings (the same arguments as the coordinator's).
    let configuration: RunConfiguration
    /// This worker's index.
    let index: Int

    /// Serves until told to finish.
    func run() async throws {
        let output = LineWriter(fileDescriptor: 1)
        let seed: SeedFile
        do {
            seed = try SeedFile.load(path: configuration.seedPath)
        } catch {
            var message = WorkerMessage(.failed)
            message.error = "\(error)"
            output.write(try WireCodec.line(message))
            return
        }
        let slice = WorkloadSlice.make(
            seed: seed,
            mode: configuration.mode,
            socketCount: configuration.socketCount,
            workers: configuration.workers,
            index: index
        )
        let engine = LoadEngine(configuration: configuration, slice: slice, workerIndex: index) { report in
            var message = WorkerMessage(.interval)
            message.interval = report
            if let line = try? WireCodec.line(message) { output.write(line) }
        }
        let commands = Mailbox<WorkerCommand>(capacity: 16)
        LineReader.start(
            fileDescriptor: 0,
            name: "worker-\(index)-stdin",
            onLine: { line in
                if let command = WireCodec.decode(WorkerCommand.self, from: line) { commands.put(command) }
            },
            onEnd: { commands.close() }
        )
        output.write(try WireCodec.line(WorkerMessage(.ready)))
        // Unstructured but owned: cancelled by the `defer` below when this function returns.
        let progress = Task {
            while !Task.isCancelled {
                try? await Task.sleep(nanoseconds: 1_000_000_000)
                var message = WorkerMessage(.progress)
                message.progress = engine.progress()
                if let line = try? WireCodec.line(message), !output.write(line) { return }
            }
        }
        defer { progress.cancel() }
        var connected = false
        while let command = await commands.next(until: configuration.deadline.value) {
            switch command.kind {
            case .connect where !connected:
                connected = true
                var message = WorkerMessage(.connected)
                message.connect = await engine.connect()
                configuration.connectPhaseEnded()
                output.write(try WireCodec.line(message))
            case .stage:
                guard let plan = command.stage else { continue }
                var message = WorkerMessage(.stage)
                message.stage = await engine.runStage(plan)
                output.write(try WireCodec.line(message))
            case .finish:
                var message = WorkerMessage(.finished)
                message.finish = await engine.finish()
                output.write(try WireCodec.line(message))
                return
            case .connect:
                continue
            }
        }
        // Standard input ended or the deadline passed: close the sockets quietly.
        _ = await engine.finish()
    }
}
