//! Fuzz target `validate`: see `ntjp_fuzz::validate`.
fn main() {
    afl::fuzz!(|data: &[u8]| ntjp_fuzz::validate(data));
}
