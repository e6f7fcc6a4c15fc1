//! Namespace URIs and action URIs of WS-Management for PowerShell (protocol.md §1.3, §2.2).
//! Elements are matched by these URIs, never by prefix.

pub const SOAP: &[u8] = b"http://www.w3.org/2003/05/soap-envelope";
pub const ADDRESSING: &[u8] = b"http://schemas.xmlsoap.org/ws/2004/08/addressing";
pub const WSMAN: &[u8] = b"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd";
/// Microsoft's WS-Management extensions (`wsmv:SessionId`, `wsmv:DataLocale`).
pub const MS_WSMAN: &[u8] = b"http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd";
pub const SHELL: &[u8] = b"http://schemas.microsoft.com/wbem/wsman/1/windows/shell";
pub const POWERSHELL: &[u8] = b"http://schemas.microsoft.com/powershell";

pub const ACTION_CREATE: &str = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Create";
pub const ACTION_DELETE: &str = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete";
pub const ACTION_GET: &str = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Get";
pub const ACTION_ENUMERATE: &str = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate";
pub const SHELL_ACTION_PREFIX: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/";
