//! Fuzz target `journal`: see `ntjp_fuzz::journal`.
fn main() {
    afl::fuzz!(|data: &[u8]| ntjp_fuzz::journal(data));
}
