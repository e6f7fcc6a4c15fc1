//! `runspace-gateway certs`: a dev CA, a server certificate and a client certificate.

use crate::certs::{generate, CertRequest, DEFAULT_CLIENT_PRINCIPAL};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Directory to write ca.pem/ca.key, server.pem/server.key and client.pem/client.key into.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// DNS name or IP address the server certificate is valid for (repeat for several).
    #[arg(long = "host", value_name = "NAME")]
    pub hosts: Vec<String>,
    /// Also make the server certificate valid for localhost and 127.0.0.1.
    #[arg(long)]
    pub loopback: bool,
    /// The client certificate's CN: the principal mTLS clients are known as.
    #[arg(long, value_name = "UPN", default_value = DEFAULT_CLIENT_PRINCIPAL)]
    pub client_principal: String,
    /// Replace existing files (a new CA: clients must trust it again).
    #[arg(long)]
    pub force: bool,
}

pub fn run(args: Args) -> ExitCode {
    let request = CertRequest {
        hosts: args.hosts,
        loopback: args.loopback,
        client_principal: args.client_principal,
        force: args.force,
    };
    match generate(&args.out, &request) {
        Ok(certs) => {
            if certs.written.is_empty() {
                println!(
                    "kept existing certificates in {} (use --force to replace them)",
                    args.out.display()
                );
            }
            for path in &certs.written {
                println!("wrote {}", path.display());
            }
            println!("clients trust {}", certs.ca_cert.display());
            ExitCode::SUCCESS
        }
        Err(e) => super::fail(e),
    }
}
