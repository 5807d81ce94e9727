//! [`Text`]: an immutable, shared string for TAK rows. Cloning one bumps a reference count, so
//! a published snapshot, a route target and a view share the row's string instead of copying it.
//! Nothing else: no interning table, no case rules (see [`super::key`]).

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;
use std::sync::{Arc, LazyLock};

/// An immutable string shared by reference count (`Arc<str>`), compared by content.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Text(Arc<str>);

/// The one empty string every empty [`Text`] shares (most descriptions of generated rows).
static EMPTY: LazyLock<Text> = LazyLock::new(|| Text(Arc::from("")));

impl Text {
    /// The string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Which shared string this is (equal for clones, different for equal strings allocated
    /// apart): an image writes each shared string once.
    pub(crate) fn identity(&self) -> usize {
        Arc::as_ptr(&self.0) as *const u8 as usize
    }
}

impl Default for Text {
    fn default() -> Self {
        EMPTY.clone()
    }
}

impl Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for Text {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Self {
        if s.is_empty() {
            Text::default()
        } else {
            Text(Arc::from(s))
        }
    }
}

impl From<String> for Text {
    fn from(s: String) -> Self {
        if s.is_empty() {
            Text::default()
        } else {
            Text(Arc::from(s))
        }
    }
}

impl From<&String> for Text {
    fn from(s: &String) -> Self {
        Text::from(s.as_str())
    }
}

impl From<Text> for String {
    fn from(t: Text) -> Self {
        t.0.to_string()
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&*self.0, f)
    }
}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == *other
    }
}

impl PartialEq<String> for Text {
    fn eq(&self, other: &String) -> bool {
        &*self.0 == other.as_str()
    }
}

impl PartialEq<Text> for str {
    fn eq(&self, other: &Text) -> bool {
        self == &*other.0
    }
}

impl PartialEq<Text> for &str {
    fn eq(&self, other: &Text) -> bool {
        *self == &*other.0
    }
}

impl PartialEq<Text> for String {
    fn eq(&self, other: &Text) -> bool {
        self.as_str() == &*other.0
    }
}

impl serde::Serialize for Text {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Text {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Text;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Text, E> {
                Ok(Text::from(v))
            }
        }
        d.deserialize_str(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_and_compare_by_content() {
        let a = Text::from("LOAD-MOCKS");
        let b = a.clone();
        assert!(std::ptr::eq(a.as_str(), b.as_str()));
        assert_eq!(a, Text::from(String::from("LOAD-MOCKS")));
        assert_eq!(a, "LOAD-MOCKS");
        assert_eq!("LOAD-MOCKS", a);
        assert_eq!(a.len(), 10);
        assert_eq!(format!("{a} {a:?}"), "LOAD-MOCKS \"LOAD-MOCKS\"");
        assert!(std::ptr::eq(
            Text::from("").as_str(),
            Text::default().as_str()
        ));
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(json, "\"LOAD-MOCKS\"");
        assert_eq!(serde_json::from_str::<Text>(&json).unwrap(), a);
    }
}
