//! Checks on wire RDATA given in generic form for types that embed names.

use levee_wire::name;
use levee_wire::rtype::{self, Field};

/// True if `rdata` follows the type's layout with valid uncompressed names.
pub fn rdata_names_ok(rtype: u16, rdata: &[u8]) -> bool {
    let Some(layout) = rtype::layout(rtype) else { return true };
    let mut p = 0;
    for f in layout {
        match *f {
            Field::Name => match name::wire_len(&rdata[p.min(rdata.len())..]) {
                Ok(l) => p += l,
                Err(_) => return false,
            },
            Field::Fixed(n) => p += n as usize,
            Field::CharStr => match rdata.get(p) {
                Some(&l) => p += 1 + l as usize,
                None => return false,
            },
            Field::Rest => p = rdata.len(),
        }
        if p > rdata.len() {
            return false;
        }
    }
    p == rdata.len()
}

/// The names inside RDATA (uncompressed), in order.
pub fn rdata_names(rtype: u16, rdata: &[u8]) -> impl Iterator<Item = &[u8]> {
    let layout = rtype::layout(rtype).unwrap_or(&[]);
    let mut p = 0usize;
    let mut i = 0usize;
    std::iter::from_fn(move || {
        while i < layout.len() {
            let f = layout[i];
            i += 1;
            match f {
                Field::Name => {
                    let l = name::wire_len(rdata.get(p..)?).ok()?;
                    let n = &rdata[p..p + l];
                    p += l;
                    return Some(n);
                }
                Field::Fixed(n) => p += n as usize,
                Field::CharStr => p += 1 + *rdata.get(p)? as usize,
                Field::Rest => p = rdata.len(),
            }
        }
        None
    })
}
