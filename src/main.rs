#![forbid(unsafe_code)]

/// mimalloc instead of glibc's allocator: the data path allocates per request (bodies,
/// headers, the invocation, the audit line), and glibc's malloc/free were about a tenth of
/// the gateway's CPU under load (see BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    runspace_gateway::cli::main()
}
