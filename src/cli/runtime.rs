//! The tokio runtime for the long-running commands (`serve`, `mock-upstream`).

use crate::config::Scheduler;

/// The CPUs this process may run on (affinity and cgroup quota), as the standard library
/// counts them.
pub(crate) fn available_cpus() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// A runtime with I/O and timers for `scheduler`.
pub(crate) fn build(scheduler: Scheduler) -> std::io::Result<tokio::runtime::Runtime> {
    tracing::info!(?scheduler, "runtime");
    match scheduler {
        Scheduler::CurrentThread => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
        Scheduler::MultiThread(workers) => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .enable_all()
            .build(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::runtime::RuntimeFlavor;

    #[test]
    fn each_scheduler_builds_the_runtime_flavor_it_names() {
        let one = build(Scheduler::CurrentThread).unwrap();
        assert_eq!(one.handle().runtime_flavor(), RuntimeFlavor::CurrentThread);
        let two = build(Scheduler::MultiThread(2)).unwrap();
        assert_eq!(two.handle().runtime_flavor(), RuntimeFlavor::MultiThread);
        assert_eq!(two.metrics().num_workers(), 2);
        // Timers and I/O are enabled on both.
        one.block_on(async { tokio::time::sleep(std::time::Duration::ZERO).await });
        two.block_on(async { tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap() });
    }
}
