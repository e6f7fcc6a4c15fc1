#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    runspace_gateway::cli::main()
}
