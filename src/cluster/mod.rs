//! Running the testbed as several processes, as NTjP itself runs (issue 13): router nodes that
//! load their TAK over SokVagvalsInfo as VP does ([`takcache`]). What decides a node's role and
//! wires it up lives in `server`; this module holds the parts a role is made of.
pub mod takcache;
