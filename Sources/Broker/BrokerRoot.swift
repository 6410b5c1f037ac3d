import Logging
import Store

/// The broker's supervision root, in start order: the Mailer (permanent: the outbox must keep draining).
/// The user and conversation supervisors join it as they are built.
///
/// The root `ServiceGroup` owns and stops it; an escalation past its intensity ends `run()` with an error,
/// which ends the process non-zero for the operating system's supervisor to restart.
package enum BrokerRoot {
    /// Builds the root supervisor.
    package static func makeSupervisor(
        store: any Store, mailAdapter: any MailAdapter, logger: Logger, mailPollInterval: Duration = .seconds(1)
    ) -> Supervisor<String> {
        let mailerLogger = logger
        return Supervisor(
            strategy: .oneForOne,
            maxRestarts: 3,
            period: .seconds(5),
            children: [
                ChildSpec(id: "mailer", restart: .permanent, shutdown: .graceful(timeout: .seconds(5))) {
                    Mailer(store: store, adapter: mailAdapter, logger: mailerLogger, pollInterval: mailPollInterval)
                }
            ],
            logger: logger
        )
    }
}
