//! `runspace-gateway audit verify|search`.

use crate::audit::search::{parse_time, search_files, table_row, Filter, TABLE_HEADER};
use crate::audit::verify::verify_files;
use crate::audit::Decision;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Subcommand)]
pub enum AuditCommand {
    /// Check the hash chain of one or more audit files, in order: rotated files first, oldest
    /// first (`audit.jsonl.1 audit.jsonl.2 audit.jsonl`). Exits 0 with the record count and
    /// the last hash, or 1 naming the first bad line and why.
    Verify {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Print the records that match every given filter (oldest first). Does not check the
    /// chain; run `audit verify` for that.
    Search(SearchArgs),
}

#[derive(Debug, clap::Args)]
pub struct SearchArgs {
    /// Who acted (case-insensitive), e.g. alice@contoso.com.
    #[arg(long)]
    principal: Option<String>,
    /// A cmdlet the record contains (case-insensitive), e.g. Set-Mailbox.
    #[arg(long)]
    cmdlet: Option<String>,
    /// Records at or after this RFC 3339 time, e.g. 2026-01-31T09:00:00Z.
    #[arg(long)]
    since: Option<String>,
    /// Records strictly before this RFC 3339 time.
    #[arg(long)]
    until: Option<String>,
    /// allow, deny, throttle or shadow-deny.
    #[arg(long)]
    decision: Option<String>,
    /// Print JSON lines (the records as stored) instead of a table.
    #[arg(long)]
    json: bool,
    /// Audit files, oldest first.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

pub fn run(c: AuditCommand) -> ExitCode {
    match c {
        AuditCommand::Verify { files } => verify(&files),
        AuditCommand::Search(args) => search(args),
    }
}

fn verify(files: &[PathBuf]) -> ExitCode {
    match verify_files(files) {
        Ok(v) => {
            println!("ok: {} records, last hash {}", v.records, v.last_hash);
            ExitCode::SUCCESS
        }
        Err(broken) => super::fail(broken),
    }
}

fn build_filter(args: &SearchArgs) -> Result<Filter, String> {
    let decision = match &args.decision {
        None => None,
        Some(d) => Some(Decision::parse(d).ok_or_else(|| {
            format!("--decision {d:?}: use allow, deny, throttle or shadow-deny")
        })?),
    };
    let time = |t: &Option<String>, flag: &str| match t {
        None => Ok(None),
        Some(t) => parse_time(t).map(Some).map_err(|e| format!("{flag}: {e}")),
    };
    Ok(Filter {
        principal: args.principal.clone(),
        cmdlet: args.cmdlet.clone(),
        since: time(&args.since, "--since")?,
        until: time(&args.until, "--until")?,
        decision,
    })
}

fn search(args: SearchArgs) -> ExitCode {
    let filter = match build_filter(&args) {
        Ok(f) => f,
        Err(e) => return super::fail(e),
    };
    if !args.json {
        println!("{TABLE_HEADER}");
    }
    let result = search_files(&args.files, &filter, |r, line| {
        if args.json {
            println!("{}", String::from_utf8_lossy(line));
        } else {
            println!("{}", table_row(r));
        }
    });
    match result {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => super::fail(e),
    }
}
