//! `runspace-gateway dev` seeds: a requester and an approver with fresh tokens, one manual
//! policy, and the admin listener, so the whole request-approve-run flow can be tried at once.

use crate::admin::auth::token_hash;
use std::net::SocketAddr;

pub const DEV_REQUESTER: &str = "requester@contoso.com";
pub const DEV_APPROVER: &str = "approver@contoso.com";
pub const DEV_APPROVER_GROUP: &str = "pam-approvers";
pub const DEV_TASK: &str = "New-JournalRule";

/// A seeded user and the token that authenticates them (printed once, stored only hashed).
#[derive(Debug, Clone)]
pub struct DevUser {
    pub principal: &'static str,
    pub token: String,
}

/// The TOML to append to the dev config, and the users it creates.
#[derive(Debug, Clone)]
pub struct DevSeed {
    pub toml: String,
    pub requester: DevUser,
    pub approver: DevUser,
}

/// Seed config for an admin API on `admin_addr`; tokens are random per start.
pub fn seed(admin_addr: SocketAddr) -> DevSeed {
    let user = |principal| DevUser {
        principal,
        token: uuid::Uuid::new_v4().simple().to_string(),
    };
    let (requester, approver) = (user(DEV_REQUESTER), user(DEV_APPROVER));
    let token = |u: &DevUser| {
        format!(
            "[[admin.token]]\nprincipal = \"{}\"\nsha256 = \"{}\"\n\n[users.\"{}\"]\nemail = \"{}\"\n\n",
            u.principal,
            token_hash(&u.token),
            u.principal,
            u.principal
        )
    };
    let toml = format!(
        "[groups]\n{DEV_APPROVER_GROUP} = [\"{DEV_APPROVER}\"]\n\n\
         [[policy]]\ntask = \"{DEV_TASK}\"\napproval = \"manual\"\napprovers = \"{DEV_APPROVER_GROUP}\"\nmax_hours = 8\n\n\
         [admin]\naddr = \"{admin_addr}\"\n\n{}{}",
        token(&requester),
        token(&approver)
    );
    DevSeed {
        toml,
        requester,
        approver,
    }
}

/// The lines `dev` prints so a person can go from "refused" to "granted" in a minute.
pub fn instructions(seed: &DevSeed, admin_url: &str, ca: &std::path::Path) -> String {
    let (r, a) = (&seed.requester, &seed.approver);
    format!(
        "Privileged-access workflow (admin API {admin_url}):\n\
         \x20 export RUNSPACE_GATEWAY_ADMIN={admin_url} RUNSPACE_GATEWAY_CA={ca}\n\
         \x20 # as the requester ({rp}):\n\
         \x20 RUNSPACE_GATEWAY_TOKEN={rt} runspace-gateway request new --task {DEV_TASK} --reason \"try it\" --hours 1\n\
         \x20 # as the approver ({ap}):\n\
         \x20 RUNSPACE_GATEWAY_TOKEN={at} runspace-gateway request approve R-1 --comment \"ok\"\n\
         \x20 RUNSPACE_GATEWAY_TOKEN={at} runspace-gateway grant list\n",
        ca = ca.display(),
        rp = r.principal,
        rt = r.token,
        ap = a.principal,
        at = a.token,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_is_valid_config_with_hashed_tokens() {
        let s = seed("127.0.0.1:9443".parse().unwrap());
        let text = format!(
            "[listen]\naddr = \"127.0.0.1:8443\"\ncert = \"c.pem\"\nkey = \"k.pem\"\n\
             [upstream]\nurl = \"http://127.0.0.1:5985\"\n{}",
            s.toml
        );
        let c = crate::config::Config::parse(&text, std::path::Path::new("dev.toml")).unwrap();
        let admin = c.admin.unwrap();
        assert_eq!(admin.token.len(), 2);
        assert_eq!(admin.token[1].sha256, token_hash(&s.approver.token));
        assert!(
            !s.toml.contains(&s.requester.token),
            "only the hash is written"
        );
        assert_eq!(c.groups[DEV_APPROVER_GROUP], [DEV_APPROVER]);
        assert_ne!(s.requester.token, s.approver.token);
    }
}
