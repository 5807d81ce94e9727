//! Large orders in the real format, generated: `n` logical addresses, each with a route to one
//! shared producer URL and an authorisation for one consumer, the shape of a big real TAK (most
//! routes with their own logical address; few contracts, producers and URLs). For benchmarks,
//! the scale example and tests that load a TAK of 100,000 or 1,000,000 rows; not a form of
//! Beställningsstödet. Pure: builds text.

use std::fmt::Write as _;

/// What a generated order holds.
#[derive(Debug, Clone)]
pub struct BulkOrder<'a> {
    /// `plattform`, e.g. `NTJP-TEST`.
    pub platform: &'a str,
    /// Number of logical addresses, routes and authorisations.
    pub rows: usize,
    /// First number of the logical addresses (`BULK-<number>`), so orders can follow each
    /// other without overlapping.
    pub first: usize,
    /// The contract namespace (created by the order if TAK lacks it).
    pub contract: &'a str,
    /// The producer component's HSA-id (created if missing).
    pub producer: &'a str,
    /// The URL every route sends to.
    pub url: &'a str,
    /// The consumer component's HSA-id (created if missing).
    pub consumer: &'a str,
    /// `genomforandeTidpunkt`, e.g. `2025-01-01T00:00:00+0000`.
    pub executes_at: &'a str,
}

impl BulkOrder<'_> {
    /// The logical address of row `i` (0-based within this order).
    pub fn address(&self, i: usize) -> String {
        format!("BULK-{:07}", self.first + i)
    }

    /// The order as JSON text.
    pub fn json(&self) -> String {
        let mut out = String::with_capacity(64 + self.rows * 420);
        let _ = write!(
            out,
            r#"{{"plattform":"{}","formatVersion":"1.0","version":"1","bestallningsTidpunkt":"{t}","genomforandeTidpunkt":"{t}","utforare":"bulk","kommentar":"{} rader","inkludera":{{"tjanstekontrakt":[{{"namnrymd":"{}","beskrivning":"bulk","majorVersion":1}}],"tjanstekomponenter":[{{"hsaId":"{}","beskrivning":"Producent"}},{{"hsaId":"{}","beskrivning":"Konsument"}}],"logiskadresser":["#,
            self.platform,
            self.rows,
            self.contract,
            self.producer,
            self.consumer,
            t = self.executes_at,
        );
        for i in 0..self.rows {
            let sep = if i == 0 { "" } else { "," };
            let _ = write!(
                out,
                r#"{sep}{{"hsaId":"{}","beskrivning":"Vårdenhet {}"}}"#,
                self.address(i),
                self.first + i
            );
        }
        out.push_str(r#"],"anropsbehorigheter":["#);
        for i in 0..self.rows {
            let sep = if i == 0 { "" } else { "," };
            let _ = write!(
                out,
                r#"{sep}{{"logiskAdress":"{}","tjanstekontrakt":"{}","tjanstekonsument":"{}"}}"#,
                self.address(i),
                self.contract,
                self.consumer
            );
        }
        out.push_str(r#"],"vagval":["#);
        for i in 0..self.rows {
            let sep = if i == 0 { "" } else { "," };
            let _ = write!(
                out,
                r#"{sep}{{"adress":"{}","logiskAdress":"{}","tjanstekontrakt":"{}","rivtaprofil":"RIVTABP21","tjanstekomponent":"{}"}}"#,
                self.url,
                self.address(i),
                self.contract,
                self.producer
            );
        }
        out.push_str(r#"]},"exkludera":{}}"#);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tak::Store;

    #[test]
    fn a_generated_order_is_accepted_and_routes() {
        let order = BulkOrder {
            platform: "NTJP-TEST",
            rows: 50,
            first: 1,
            contract: "urn:riv:x:BulkResponder:1",
            producer: "BULK-PRODUCER",
            url: "https://127.0.0.1:1/bulk",
            consumer: "BULK-CONSUMER",
            executes_at: "2025-01-01T00:00:00+0000",
        };
        let mut store = Store::new("NTJP-TEST");
        let parsed = crate::orders::parse(&order.json()).unwrap();
        let report = crate::orders::apply(&mut store, &parsed).unwrap();
        assert_eq!(report.include.0.len(), 5);
        let s = store.publish("test", "bulk", chrono::Utc::now());
        assert_eq!(s.counts().routes, 50);
        assert_eq!(s.counts().authorisations, 50);
        let day = "2026-01-01".parse().unwrap();
        let last = order.address(49);
        let hit = s.route(order.contract, &last, day);
        assert_eq!(hit.matches.len(), 1);
        assert_eq!(hit.matches[0].url, order.url);
        assert!(
            s.authorise("bulk-consumer", order.contract, "bulk-0000050", day)
                .granted
        );
        // The same order again extends every row (Uppdaterad), nothing new.
        let again = crate::orders::apply(&mut store, &parsed).unwrap();
        let routes = again.include.0.iter().find(|s| s.name == "Vägval").unwrap();
        assert!(routes.rows.iter().all(|r| r.status.text() == "Uppdaterad"));
    }
}
