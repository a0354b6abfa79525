//! Customer events: the life of a customer record in the ops API (created, changed, merged,
//! split, identities added and removed, flags raised and resolved).
//!
//! The ops API is the system of record for customers and keeps their personal data; these
//! events carry what analytics needs and nothing that identifies a person: ids, VIP status,
//! the kind of an identity (never its value), the kind of a flag (never its note).

use serde::{Deserialize, Serialize};

use crate::ids::{CustomerId, FlagId};
use crate::row::columns;

/// How a customer reaches the center.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentityKind {
    /// A phone number.
    Phone,
    /// An e-mail address.
    Email,
    /// A Telegram user name or id.
    Telegram,
    /// A WhatsApp id.
    Whatsapp,
    /// A Viber id.
    Viber,
    /// A VK id.
    Vk,
    /// A web-chat visitor id.
    WebChat,
}

impl IdentityKind {
    /// Every kind.
    pub const ALL: [IdentityKind; 7] = [
        IdentityKind::Phone,
        IdentityKind::Email,
        IdentityKind::Telegram,
        IdentityKind::Whatsapp,
        IdentityKind::Viber,
        IdentityKind::Vk,
        IdentityKind::WebChat,
    ];

    /// The wire and lake name.
    pub fn as_str(&self) -> &'static str {
        match self {
            IdentityKind::Phone => "phone",
            IdentityKind::Email => "email",
            IdentityKind::Telegram => "telegram",
            IdentityKind::Whatsapp => "whatsapp",
            IdentityKind::Viber => "viber",
            IdentityKind::Vk => "vk",
            IdentityKind::WebChat => "web_chat",
        }
    }

    /// The kind named `name`, if there is one.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == name)
    }
}

/// What a flag on a customer says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlagKind {
    /// A conflict with the customer (a dispute, an escalated complaint, abuse).
    Conflict,
    /// A commitment to the customer that was not kept (a promised call-back, a visit).
    BrokenCommitment,
}

impl FlagKind {
    /// The wire and lake name.
    pub fn as_str(&self) -> &'static str {
        match self {
            FlagKind::Conflict => "conflict",
            FlagKind::BrokenCommitment => "broken_commitment",
        }
    }
}

/// A customer record was created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomerCreated {
    /// The customer.
    pub customer_id: CustomerId,
    /// Whether it gets VIP service.
    pub vip: bool,
    /// The customer it was split off from, when it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split_from: Option<CustomerId>,
}

/// A customer's profile changed (name, VIP status, preferences, lifetime value).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomerUpdated {
    /// The customer.
    pub customer_id: CustomerId,
    /// Whether it gets VIP service, after the change.
    pub vip: bool,
}

/// A duplicate was merged into a customer: its identities, tickets and flags moved over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomerMerged {
    /// The customer kept.
    pub customer_id: CustomerId,
    /// The duplicate, which lives on as the customer kept.
    pub duplicate_id: CustomerId,
    /// Whether the customer kept gets VIP service, after the merge.
    pub vip: bool,
}

/// An identity (phone number, e-mail address, messenger id) was added to a customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomerIdentityAdded {
    /// The customer.
    pub customer_id: CustomerId,
    /// The kind of identity (its value stays in the ops database).
    pub identity_kind: IdentityKind,
}

/// An identity was removed from a customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomerIdentityRemoved {
    /// The customer.
    pub customer_id: CustomerId,
    /// The kind of identity.
    pub identity_kind: IdentityKind,
}

/// A conflict or a broken commitment was flagged on a customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomerFlagged {
    /// The customer.
    pub customer_id: CustomerId,
    /// The flag.
    pub flag_id: FlagId,
    /// What it is about (the note stays in the ops database).
    pub flag_kind: FlagKind,
}

/// A flag on a customer was resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomerFlagResolved {
    /// The customer.
    pub customer_id: CustomerId,
    /// The flag.
    pub flag_id: FlagId,
    /// What it was about.
    pub flag_kind: FlagKind,
}

/// Every customer event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum CustomerEvent {
    /// `customer.created`.
    Created(CustomerCreated),
    /// `customer.updated`.
    Updated(CustomerUpdated),
    /// `customer.merged`.
    Merged(CustomerMerged),
    /// `customer.identity_added`.
    IdentityAdded(CustomerIdentityAdded),
    /// `customer.identity_removed`.
    IdentityRemoved(CustomerIdentityRemoved),
    /// `customer.flagged`.
    Flagged(CustomerFlagged),
    /// `customer.flag_resolved`.
    FlagResolved(CustomerFlagResolved),
}

columns! {
    /// The `customers` table's own columns (after the header).
    pub struct CustomerColumns {
        /// The customer.
        pub customer_id: String,
        /// VIP after the event (created, updated, merged).
        pub vip: Option<bool>,
        /// The other customer: the duplicate merged in, or the one split from.
        pub other_customer_id: Option<String>,
        /// The kind of identity added or removed.
        pub identity_kind: Option<String>,
        /// The flag raised or resolved.
        pub flag_id: Option<String>,
        /// Its kind.
        pub flag_kind: Option<String>,
    }
}

impl CustomerEvent {
    /// The event's values for the `customers` table, its text moved
    /// into them rather than copied.
    pub fn into_columns(self) -> CustomerColumns {
        let of = |customer: CustomerId| CustomerColumns {
            customer_id: customer.into(),
            ..CustomerColumns::default()
        };
        match self {
            CustomerEvent::Created(e) => CustomerColumns {
                vip: Some(e.vip),
                other_customer_id: e.split_from.map(String::from),
                ..of(e.customer_id)
            },
            CustomerEvent::Updated(e) => CustomerColumns {
                vip: Some(e.vip),
                ..of(e.customer_id)
            },
            CustomerEvent::Merged(e) => CustomerColumns {
                vip: Some(e.vip),
                other_customer_id: Some(String::from(e.duplicate_id)),
                ..of(e.customer_id)
            },
            CustomerEvent::IdentityAdded(CustomerIdentityAdded {
                customer_id,
                identity_kind,
            })
            | CustomerEvent::IdentityRemoved(CustomerIdentityRemoved {
                customer_id,
                identity_kind,
            }) => CustomerColumns {
                identity_kind: Some(identity_kind.as_str().to_owned()),
                ..of(customer_id)
            },
            CustomerEvent::Flagged(CustomerFlagged {
                customer_id,
                flag_id,
                flag_kind,
            })
            | CustomerEvent::FlagResolved(CustomerFlagResolved {
                customer_id,
                flag_id,
                flag_kind,
            }) => CustomerColumns {
                flag_id: Some(flag_id.to_string()),
                flag_kind: Some(flag_kind.as_str().to_owned()),
                ..of(customer_id)
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_kinds_round_trip_through_their_wire_names() {
        for kind in IdentityKind::ALL {
            assert_eq!(IdentityKind::parse(kind.as_str()), Some(kind));
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                serde_json::Value::String(kind.as_str().to_owned())
            );
        }
        assert_eq!(IdentityKind::parse("fax"), None);
    }
}
