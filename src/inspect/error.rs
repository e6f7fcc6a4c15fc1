//! The one error type of the inspection layer.
//!
//! Every failure names the wire layer it came from, the field that was wrong and what was wrong
//! with it, so an operator reading a refusal or an audit record knows where to look. Inspection
//! fails closed: a request that produces an `InspectError` is never forwarded as if it were fine.

use std::fmt;

/// The wire layer an error came from, outermost first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Layer {
    /// HTTP method, path, headers, content type.
    Http,
    /// The WS-Management SOAP envelope.
    Envelope,
    /// base64 text inside the envelope.
    Base64,
    /// xpress stream compression (MS-WSMV note 134).
    Compression,
    /// PSRP fragments (21-byte header) and their reassembly.
    Fragment,
    /// PSRP messages (40-byte header).
    Message,
    /// CLIXML serialization.
    Clixml,
    /// The CREATE_PIPELINE / GET_COMMAND_METADATA structure.
    Pipeline,
    /// The REST admin API JSON.
    Rest,
    /// The caller's identity (Authorization header, certificate).
    Identity,
}

impl Layer {
    pub fn as_str(self) -> &'static str {
        match self {
            Layer::Http => "http",
            Layer::Envelope => "envelope",
            Layer::Base64 => "base64",
            Layer::Compression => "compression",
            Layer::Fragment => "fragment",
            Layer::Message => "message",
            Layer::Clixml => "clixml",
            Layer::Pipeline => "pipeline",
            Layer::Rest => "rest",
            Layer::Identity => "identity",
        }
    }
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a request could not be inspected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InspectError {
    /// The bytes do not have the shape the layer requires (truncated, wrong type, bad syntax,
    /// a reference to nothing, two values where one is allowed).
    #[error("{layer} layer, {field}: {problem}")]
    Malformed {
        layer: Layer,
        field: String,
        problem: String,
    },
    /// Well-formed, but something the inspector deliberately does not interpret (an unknown
    /// message type on a pipeline, Huffman-compressed xpress blocks). Refused, never guessed.
    #[error("{layer} layer, {field}: not supported: {problem}")]
    Unsupported {
        layer: Layer,
        field: String,
        problem: String,
    },
    /// A named limit of `[inspect]` was exceeded; `limit` is its config key.
    #[error("{layer} layer: limit inspect.{limit} = {max} exceeded: {problem}")]
    Limit {
        layer: Layer,
        limit: &'static str,
        max: u64,
        problem: String,
    },
    /// The request cannot be read at all by a proxy (message-level encryption, connection-bound
    /// authentication). Use HTTPS with Basic or Bearer authentication to the gateway instead.
    #[error(
        "{layer} layer: cannot inspect: {problem}; use HTTPS with Basic or Bearer authentication"
    )]
    CannotInspect { layer: Layer, problem: String },
}

impl InspectError {
    /// A [`InspectError::Malformed`] error.
    pub fn malformed(layer: Layer, field: impl Into<String>, problem: impl Into<String>) -> Self {
        InspectError::Malformed {
            layer,
            field: field.into(),
            problem: problem.into(),
        }
    }

    /// A [`InspectError::Unsupported`] error.
    pub fn unsupported(layer: Layer, field: impl Into<String>, problem: impl Into<String>) -> Self {
        InspectError::Unsupported {
            layer,
            field: field.into(),
            problem: problem.into(),
        }
    }

    /// A [`InspectError::Limit`] error.
    pub fn limit(
        layer: Layer,
        limit: &'static str,
        max: usize,
        problem: impl Into<String>,
    ) -> Self {
        InspectError::Limit {
            layer,
            limit,
            max: max as u64,
            problem: problem.into(),
        }
    }

    /// A [`InspectError::CannotInspect`] error.
    pub fn cannot_inspect(layer: Layer, problem: impl Into<String>) -> Self {
        InspectError::CannotInspect {
            layer,
            problem: problem.into(),
        }
    }

    /// The layer the error came from (for audit records and metrics labels).
    pub fn layer(&self) -> Layer {
        match self {
            InspectError::Malformed { layer, .. }
            | InspectError::Unsupported { layer, .. }
            | InspectError::Limit { layer, .. }
            | InspectError::CannotInspect { layer, .. } => *layer,
        }
    }

    /// The limit's config key when this is a limit error.
    pub fn limit_name(&self) -> Option<&'static str> {
        match self {
            InspectError::Limit { limit, .. } => Some(limit),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_layer_field_and_problem() {
        let e = InspectError::malformed(Layer::Fragment, "BlobLength", "truncated");
        assert_eq!(e.to_string(), "fragment layer, BlobLength: truncated");
        assert_eq!(e.layer(), Layer::Fragment);
    }

    #[test]
    fn limit_error_names_the_config_key() {
        let e = InspectError::limit(Layer::Clixml, "max_xml_depth", 64, "depth 65");
        assert_eq!(e.limit_name(), Some("max_xml_depth"));
        assert!(e.to_string().contains("inspect.max_xml_depth = 64"));
    }
}
