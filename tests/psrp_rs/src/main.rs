//! Run one pipeline with psrp-rs through the gateway and print what came back.
//!
//! usage: psrp-rs-e2e-client HOST PORT USER PASSWORD VALUE
//! Sends `Get-Mailbox -Identity VALUE -Force` with positional argument 42, prints one line per
//! output object property (`cmdlet=...`, `command_id=...`, `shell_id=...`), then how closing
//! the pool went (`close=...`), and exits 0.
//!
//! psrp-rs (through winrm-rs 1.1 and reqwest 0.13) has no setting for a custom CA: it trusts
//! only the built-in web roots (SSL_CERT_FILE is not read), so against the dev CA it must run
//! with `accept_invalid_certs`. TLS is still used end to end; only chain verification is off.

use psrp_rs::clixml::PsValue;
use psrp_rs::pipeline::{Command, Pipeline};
use psrp_rs::{AuthMethod, RunspacePool, WinrmClient, WinrmConfig, WinrmCredentials, WinrmPsrpTransport};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, host, port, user, password, value] = args.as_slice() else {
        return Err("usage: psrp-rs-e2e-client HOST PORT USER PASSWORD VALUE".into());
    };
    let config = WinrmConfig {
        port: port.parse()?,
        use_tls: true,
        accept_invalid_certs: true,
        auth_method: AuthMethod::Basic,
        ..Default::default()
    };
    let client = WinrmClient::new(config, WinrmCredentials::new(user.as_str(), password.as_str(), ""))?;
    let (rpid, creation) = RunspacePool::<WinrmPsrpTransport>::build_creation_fragments(1, 1)?;
    let transport = WinrmPsrpTransport::open(&client, host, &creation).await?;
    let mut pool = RunspacePool::open_from_transport(transport, rpid, 1, 1).await?;
    let command = Command::new("Get-Mailbox")
        .with_parameter("Identity", PsValue::String(value.clone()))
        .with_switch("Force")
        .with_argument(PsValue::I32(42));
    let output = Pipeline::empty().add_command(command).run(&mut pool).await?;
    println!("outputs={}", output.len());
    for value in &output {
        if let PsValue::Object(obj) = value {
            for key in ["cmdlet", "command_id", "shell_id", "user"] {
                if let Some(PsValue::String(s)) = obj.properties.get(key) {
                    println!("{key}={s}");
                }
            }
        }
    }
    // psrp-rs closes with a CloseRunspacePool message (0x0002100E, not in MS-PSRP) before it
    // deletes the shell; a gateway that fails closed refuses it. Report, don't hide, the result.
    match pool.close().await {
        Ok(()) => println!("close=ok"),
        Err(e) => println!("close=error: {e}"),
    }
    Ok(())
}
