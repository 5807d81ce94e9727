//! Fuzz target `order`: see `ntjp_fuzz::order`.
fn main() {
    afl::fuzz!(|data: &[u8]| ntjp_fuzz::order(data));
}
