//! Fuzz target `sniff`: see `ntjp_fuzz::sniff`.
fn main() {
    afl::fuzz!(|data: &[u8]| ntjp_fuzz::sniff(data));
}
