use super::*;

#[test]
fn delegated_org_names_the_tenant() {
    assert_eq!(
        delegated_org(Some("PSVersion=5.1&DelegatedOrg=contoso.onmicrosoft.com")),
        Some("contoso.onmicrosoft.com".into())
    );
    assert_eq!(delegated_org(Some("delegatedorg=x")), Some("x".into()));
    assert_eq!(delegated_org(Some("PSVersion=5.1")), None);
    assert_eq!(delegated_org(None), None);
}
