//! One message as a mock producer received it, and what it answered: what the mocks record
//! (`mocks::recorder`), the admin API serves as JSON and consumer verification reads.
//!
//! Defined here, in the pure core, so that verification depends on nothing outside it; the
//! mock producers fill it in. Its size accounting (`Recording::approx_bytes`) is the
//! recorder's and stays there.

use std::net::SocketAddr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::contract::validate::{Scenario, Violation};

/// The verdict of the mock's check of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Valid by the schema and the TKB's rules.
    Valid,
    /// Schema or TKB violations (listed in `violations`): answered ERROR.
    Invalid,
    /// Not a ProcessCervixScreeningInformation request the mock could read (not well-formed,
    /// another operation, another contract, wrong address or profile).
    Technical,
    /// A PingForConfiguration call.
    Ping,
}

/// One message as a mock received it, and what it answered.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Recording {
    /// Arrival order across all mocks, from 1.
    pub seq: u64,
    /// When it arrived (UTC).
    pub received_at: DateTime<Utc>,
    /// The logical address of the mock that received it (from the URL path).
    pub mock_address: String,
    /// The profile of the URL path: `RIVTABP21` or `RIVTABP20`.
    pub path_profile: String,
    /// The request's path and query, as the producer URL in TAK named it.
    pub path_and_query: String,
    /// The logical address in the message header, as sniffed.
    pub logical_address: Option<String>,
    /// The header profile found in the message.
    pub message_profile: Option<String>,
    /// The consumer, as the platform named it (`x-rivta-original-serviceconsumer-hsaid`).
    pub consumer_hsa_id: Option<String>,
    /// HSA-id in the client certificate of the platform that called (`None` for a caller
    /// without one).
    pub platform_hsa_id: Option<String>,
    /// The environment (`sit`, `qa`, `prod`) whose router forwarded it, known from the
    /// platform certificate; `None` for callers other than the testbed's routers.
    pub environment: Option<String>,
    /// `x-skltp-correlation-id`, if the platform sent one.
    pub correlation_id: Option<String>,
    /// The body element's local name (`ProcessCervixScreeningInformation`,
    /// `PingForConfiguration`, ...), if it could be read.
    pub operation: Option<String>,
    /// `subjectOfCare/personId/extension`, as sent.
    pub personnummer: Option<String>,
    /// `sendingRegion/region/id/extension`, as sent.
    pub sending_region: Option<String>,
    /// Which of the contract's scenarios the content represents.
    pub scenario: Option<Scenario>,
    /// The verdict of the contract check.
    pub verdict: Verdict,
    /// The schema and TKB violations found, in document order (empty unless `verdict` is
    /// `invalid`): the first `mock_producers.max_violations_per_recording` (default 1,000).
    pub violations: Vec<Violation>,
    /// Violations found past those kept in `violations`: counted, not recorded.
    #[serde(default)]
    pub violations_omitted: usize,
    /// Why the message was technical, when it was.
    pub technical_error: Option<String>,
    /// What the mock answered: `OK`, `INFO`, `ERROR`, `FAULT`, `HTTP-500`, `NO-ANSWER` or
    /// `RESET`.
    pub result_code: String,
    /// Where the answer came from: `validation`, `behaviour` (the mock's configured
    /// behaviour) or `trigger:<personnummer>`.
    pub answer_source: String,
    /// Milliseconds the mock waited before answering (behaviour or trigger).
    pub delay_ms: u64,
    /// HTTP status of the answer (`None` when none was sent).
    pub response_status: Option<u16>,
    /// The answer's body (`None` when none was sent).
    pub response_body: Option<String>,
    /// The peer that sent it (the platform).
    pub peer: SocketAddr,
    /// Every HTTP header, lower-case names, in arrival order.
    pub headers: Vec<(String, String)>,
    /// The body as received (UTF-8, lossy); its start only when `body_truncated_from` is set.
    pub body: String,
    /// The body's length in bytes before it was cut to fit the recorder's byte budget
    /// (absent: the body is whole).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_truncated_from: Option<usize>,
}
