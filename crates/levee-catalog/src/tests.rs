use super::*;

fn n(s: &str) -> Vec<u8> {
    name::from_text(s, None).unwrap().as_slice().to_vec()
}

fn txt(s: &str) -> Vec<u8> {
    let mut o = vec![s.len() as u8];
    o.extend_from_slice(s.as_bytes());
    o
}

/// A catalog as (owner text, type, rdata) records.
struct Cat(Vec<(Vec<u8>, u16, Vec<u8>)>);

impl Cat {
    fn new(version: &str) -> Cat {
        Cat(vec![(n("cat.example."), NS, n("invalid.")), (n("version.cat.example."), TXT, txt(version))])
    }
    fn rr(mut self, owner: &str, rtype: u16, rdata: Vec<u8>) -> Cat {
        self.0.push((n(owner), rtype, rdata));
        self
    }
    fn member(self, id: &str, zone: &str) -> Cat {
        self.rr(&format!("{id}.zones.cat.example."), PTR, n(zone))
    }
    fn parse(&self) -> Result<Catalog, Error> {
        parse(&n("cat.example."), self.0.iter().map(|(o, t, r)| (o.as_slice(), *t, r.as_slice())), 100)
    }
}

#[test]
fn members_with_groups_and_coo_are_read() {
    let c = Cat::new("2")
        .member("a1", "one.example.")
        .member("B2", "Two.Example.")
        .rr("group.a1.zones.cat.example.", TXT, txt("gold"))
        .rr("coo.b2.zones.cat.example.", PTR, n("other.example."))
        .rr("ext.a1.zones.cat.example.", TXT, txt("ignored"))
        .rr("serial.a1.zones.cat.example.", TXT, txt("unknown property"))
        .parse()
        .unwrap();
    assert_eq!(c.members.len(), 2);
    let one = &c.members[&n("one.example.")];
    assert_eq!((one.id.as_slice(), one.group.as_deref(), one.coo.as_ref()), (&b"a1"[..], Some("gold"), None));
    let two = &c.members[&n("two.example.")];
    assert_eq!(two.id, b"b2", "ids are compared in lower case");
    assert_eq!(two.coo.as_deref(), Some(n("other.example.").as_slice()));
    assert!(coo_allows(&c, &n("TWO.example."), &n("Other.Example.")));
    assert!(!coo_allows(&c, &n("two.example."), &n("third.example.")));
    assert!(!coo_allows(&c, &n("one.example."), &n("other.example.")));
}

#[test]
fn a_version_other_than_2_is_refused() {
    assert_eq!(Cat::new("1").member("a", "z.").parse(), Err(Error::Version("\"1\"".into())));
    assert_eq!(Cat::new("3").parse(), Err(Error::Version("\"3\"".into())));
    let none = Cat(vec![(n("a.zones.cat.example."), PTR, n("z."))]);
    assert_eq!(none.parse(), Err(Error::NoVersion));
    let two = Cat::new("2").rr("version.cat.example.", TXT, txt("2"));
    assert!(matches!(two.parse(), Err(Error::Version(_))), "two version records");
    let strings =
        Cat::new("2").0.into_iter().map(|(o, t, r)| (o, t, if t == TXT { [r.clone(), r].concat() } else { r }));
    assert!(matches!(Cat(strings.collect()).parse(), Err(Error::Version(_))), "two strings");
}

#[test]
fn malformed_members_refuse_the_whole_version() {
    let bad_ptr = Cat::new("2").member("a", "ok.example.").rr("b.zones.cat.example.", PTR, vec![3, b'a', b'b']);
    assert!(matches!(bad_ptr.parse(), Err(Error::BadPtr(..))), "{:?}", bad_ptr.parse());
    let trailing = Cat::new("2").rr("b.zones.cat.example.", PTR, [n("x."), vec![0]].concat());
    assert!(matches!(trailing.parse(), Err(Error::BadPtr(..))));
    let two_ptrs = Cat::new("2").member("a", "x.example.").member("a", "y.example.");
    assert!(matches!(two_ptrs.parse(), Err(Error::BadPtr(..))));
    let dup = Cat::new("2").member("a", "x.example.").member("b", "X.example.");
    assert_eq!(dup.parse(), Err(Error::Duplicate("x.example.".into())));
    let itself = Cat::new("2").member("a", "cat.example.");
    assert!(matches!(itself.parse(), Err(Error::BadPtr(..))));
    let group = Cat::new("2").member("a", "x.example.").rr("group.a.zones.cat.example.", TXT, vec![]);
    assert!(matches!(group.parse(), Err(Error::BadProperty(..))));
    let coo = Cat::new("2").member("a", "x.example.").rr("coo.a.zones.cat.example.", PTR, vec![9]);
    assert!(matches!(coo.parse(), Err(Error::BadProperty(..))));
}

#[test]
fn properties_without_a_member_and_other_names_are_ignored() {
    let c = Cat::new("2")
        .rr("group.zz.zones.cat.example.", TXT, txt("g"))
        .rr("zones.cat.example.", TXT, txt("x"))
        .rr("a.b.c.zones.cat.example.", PTR, n("deep.example."))
        .rr("outside.example.", PTR, n("out.example."))
        .parse()
        .unwrap();
    assert!(c.members.is_empty());
}

#[test]
fn the_member_bound_is_enforced() {
    let mut c = Cat::new("2");
    for i in 0..101 {
        c = c.member(&format!("m{i}"), &format!("z{i}.example."));
    }
    assert_eq!(c.parse(), Err(Error::TooMany(101, 100)));
}

#[test]
fn diff_names_added_removed_reset_and_regrouped_members() {
    let old = Cat::new("2")
        .member("a", "stay.example.")
        .member("b", "gone.example.")
        .member("c", "reset.example.")
        .member("d", "regroup.example.")
        .rr("group.d.zones.cat.example.", TXT, txt("silver"))
        .parse()
        .unwrap();
    let new = Cat::new("2")
        .member("a", "stay.example.")
        .rr("coo.a.zones.cat.example.", PTR, n("other.")) // coo alone is no change
        .member("c2", "reset.example.")
        .member("d", "regroup.example.")
        .rr("group.d.zones.cat.example.", TXT, txt("gold"))
        .member("e", "new.example.")
        .parse()
        .unwrap();
    let d = diff(&old, &new);
    let kinds: Vec<(&str, String)> = d
        .iter()
        .map(|c| match c {
            Change::Added(m) => ("added", name::to_text(&m.zone)),
            Change::Removed(m) => ("removed", name::to_text(&m.zone)),
            Change::Reset(m) => ("reset", name::to_text(&m.zone)),
            Change::Regrouped(m) => ("regrouped", name::to_text(&m.zone)),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("removed", "gone.example.".to_string()),
            ("added", "new.example.".into()),
            ("reset", "reset.example.".into()),
            ("regrouped", "regroup.example.".into()),
        ]
    );
    assert!(diff(&new, &new).is_empty());
}

#[test]
fn generated_catalogs_read_back_with_stable_ids() {
    let members = vec![(n("B.example."), Some("gold".to_string())), (n("a.example."), None)];
    let recs = generate(&n("Cat.Example."), 7, &members);
    assert_eq!(recs[0].rtype, SOA);
    assert_eq!(levee_wire::soa::serial(&recs[0].rdata), Some(7));
    let c =
        parse(&n("cat.example."), recs.iter().map(|r| (r.owner.as_slice(), r.rtype, r.rdata.as_slice())), 10).unwrap();
    assert_eq!(c.members.len(), 2);
    let b = &c.members[&n("b.example.")];
    assert_eq!(b.group.as_deref(), Some("gold"));
    assert_eq!(b.id, unique_id(&n("b.example.")).into_bytes());
    // The id depends on the name only (not its case), and differs per name.
    assert_eq!(unique_id(&n("B.EXAMPLE.")), unique_id(&n("b.example.")));
    assert_ne!(unique_id(&n("a.example.")), unique_id(&n("b.example.")));
    assert_eq!(unique_id(&n("b.example.")).len(), 16);
}
