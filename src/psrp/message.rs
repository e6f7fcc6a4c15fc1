//! PSRP messages (MS-PSRP §2.2.1): a 40-byte little-endian header and UTF-8 CLIXML data.
//!
//! RPID and PID are GUIDs in .NET `Guid.ToByteArray()` order, read with `Uuid::from_bytes_le`.
//! Old pypsrp versions wrote them in RFC order, so correlation must use the SOAP ShellId and
//! CommandId, never these fields.

use crate::inspect::error::{InspectError, Layer};
use uuid::Uuid;

/// Size of the message header.
pub const MESSAGE_HEADER_LEN: usize = 40;
/// The UTF-8 byte-order mark PowerShell writes before the CLIXML.
pub const UTF8_BOM: &[u8] = &[0xEF, 0xBB, 0xBF];

/// Who a message is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Destination {
    Client,
    Server,
    /// Any other value; kept so the caller can name it in an error.
    Unknown(u32),
}

impl Destination {
    pub fn from_u32(v: u32) -> Self {
        match v {
            1 => Destination::Client,
            2 => Destination::Server,
            other => Destination::Unknown(other),
        }
    }
    pub fn to_u32(self) -> u32 {
        match self {
            Destination::Client => 1,
            Destination::Server => 2,
            Destination::Unknown(v) => v,
        }
    }
}

macro_rules! message_types {
    ($($(#[$doc:meta])* $name:ident = $code:expr,)*) => {
        /// PSRP message types (protocol.md §3.3).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum MessageType {
            $($(#[$doc])* $name,)*
            /// A code not in MS-PSRP (PowerShell-internal codes land here too).
            Unknown(u32),
        }

        impl MessageType {
            pub fn from_u32(v: u32) -> Self {
                match v {
                    $($code => MessageType::$name,)*
                    other => MessageType::Unknown(other),
                }
            }
            pub fn to_u32(self) -> u32 {
                match self {
                    $(MessageType::$name => $code,)*
                    MessageType::Unknown(v) => v,
                }
            }
        }
    };
}

message_types! {
    SessionCapability = 0x0001_0002,
    InitRunspacePool = 0x0001_0004,
    PublicKey = 0x0001_0005,
    EncryptedSessionKey = 0x0001_0006,
    PublicKeyRequest = 0x0001_0007,
    ConnectRunspacePool = 0x0001_0008,
    SetMaxRunspaces = 0x0002_1002,
    SetMinRunspaces = 0x0002_1003,
    RunspaceAvailability = 0x0002_1004,
    RunspacePoolState = 0x0002_1005,
    /// Starts a pipeline: the cmdlets and parameters to inspect.
    CreatePipeline = 0x0002_1006,
    GetAvailableRunspaces = 0x0002_1007,
    UserEvent = 0x0002_1008,
    ApplicationPrivateData = 0x0002_1009,
    /// Starts a discovery pipeline (`Get-Command` metadata).
    GetCommandMetadata = 0x0002_100A,
    RunspacePoolInitData = 0x0002_100B,
    ResetRunspaceState = 0x0002_100C,
    RunspacePoolHostCall = 0x0002_1100,
    RunspacePoolHostResponse = 0x0002_1101,
    /// Objects piped into a running pipeline.
    PipelineInput = 0x0004_1002,
    EndOfPipelineInput = 0x0004_1003,
    PipelineOutput = 0x0004_1004,
    ErrorRecord = 0x0004_1005,
    PipelineState = 0x0004_1006,
    DebugRecord = 0x0004_1007,
    VerboseRecord = 0x0004_1008,
    WarningRecord = 0x0004_1009,
    ProgressRecord = 0x0004_1010,
    InformationRecord = 0x0004_1011,
    PipelineHostCall = 0x0004_1100,
    PipelineHostResponse = 0x0004_1101,
}

/// One PSRP message, borrowing its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Message<'a> {
    pub destination: Destination,
    pub message_type: MessageType,
    /// RunspacePool id, decoded with .NET byte order.
    pub rpid: Uuid,
    /// Pipeline id (nil for pool messages), decoded with .NET byte order.
    pub pid: Uuid,
    /// The CLIXML, with a leading UTF-8 BOM removed.
    pub data: &'a [u8],
}

impl<'a> Message<'a> {
    /// Parse a reassembled message.
    pub fn parse(bytes: &'a [u8]) -> Result<Message<'a>, InspectError> {
        let (head, data) = bytes.split_at_checked(MESSAGE_HEADER_LEN).ok_or_else(|| {
            InspectError::malformed(
                Layer::Message,
                "header",
                format!(
                    "truncated: {} bytes, a message header needs {MESSAGE_HEADER_LEN}",
                    bytes.len()
                ),
            )
        })?;
        let data = data.strip_prefix(UTF8_BOM).unwrap_or(data);
        Ok(Message {
            destination: Destination::from_u32(le_u32(head, 0)),
            message_type: MessageType::from_u32(le_u32(head, 4)),
            rpid: guid_le(head, 8),
            pid: guid_le(head, 24),
            data,
        })
    }

    /// Append the wire form to `out`; `data` is written as it is (add a BOM yourself if wanted).
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.destination.to_u32().to_le_bytes());
        out.extend_from_slice(&self.message_type.to_u32().to_le_bytes());
        out.extend_from_slice(&self.rpid.to_bytes_le());
        out.extend_from_slice(&self.pid.to_bytes_le());
        out.extend_from_slice(self.data);
    }

    /// The wire form as a new buffer.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(MESSAGE_HEADER_LEN + self.data.len());
        self.encode(&mut out);
        out
    }
}

fn le_u32(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    if let Some(s) = b.get(at..at + 4) {
        a.copy_from_slice(s);
    }
    u32::from_le_bytes(a)
}

fn guid_le(b: &[u8], at: usize) -> Uuid {
    let mut a = [0u8; 16];
    if let Some(s) = b.get(at..at + 16) {
        a.copy_from_slice(s);
    }
    Uuid::from_bytes_le(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(data: &[u8]) -> Message<'_> {
        Message {
            destination: Destination::Server,
            message_type: MessageType::CreatePipeline,
            rpid: Uuid::parse_str("11AC8B01-5D0D-4A44-98F4-64E68FDEFB1F").unwrap(),
            pid: Uuid::parse_str("E888E1DF-C962-41D6-BEFD-F2C82D0ABCCA").unwrap(),
            data,
        }
    }

    #[test]
    fn round_trips() {
        let m = sample(b"<Obj/>");
        let bytes = m.to_bytes();
        assert_eq!(Message::parse(&bytes).unwrap(), m);
    }

    #[test]
    fn header_is_little_endian_with_dotnet_guid_order() {
        let bytes = sample(b"").to_bytes();
        assert_eq!(&bytes[0..4], &[2, 0, 0, 0]);
        assert_eq!(&bytes[4..8], &[0x06, 0x10, 0x02, 0x00]);
        // .NET order: first group (11AC8B01) byte-swapped.
        assert_eq!(&bytes[8..12], &[0x01, 0x8B, 0xAC, 0x11]);
        // Last 8 bytes in RFC order.
        assert_eq!(
            &bytes[16..24],
            &[0x98, 0xF4, 0x64, 0xE6, 0x8F, 0xDE, 0xFB, 0x1F]
        );
    }

    #[test]
    fn bom_is_stripped() {
        let mut data = UTF8_BOM.to_vec();
        data.extend_from_slice(b"<Obj/>");
        let bytes = sample(&data).to_bytes();
        assert_eq!(Message::parse(&bytes).unwrap().data, b"<Obj/>");
    }

    #[test]
    fn unknown_type_and_destination_are_kept() {
        let mut bytes = sample(b"").to_bytes();
        bytes[0] = 9;
        bytes[4..8].copy_from_slice(&0x0004_1012u32.to_le_bytes());
        let m = Message::parse(&bytes).unwrap();
        assert_eq!(m.destination, Destination::Unknown(9));
        assert_eq!(m.message_type, MessageType::Unknown(0x0004_1012));
    }

    #[test]
    fn every_known_code_round_trips() {
        for code in [
            0x0001_0002u32,
            0x0002_1006,
            0x0002_100A,
            0x0004_1002,
            0x0004_1101,
        ] {
            let t = MessageType::from_u32(code);
            assert!(!matches!(t, MessageType::Unknown(_)));
            assert_eq!(t.to_u32(), code);
        }
    }

    #[test]
    fn truncated_header_is_an_error() {
        let e = Message::parse(&[0u8; 39]).unwrap_err();
        assert!(e.to_string().starts_with("message layer, header"), "{e}");
    }
}
