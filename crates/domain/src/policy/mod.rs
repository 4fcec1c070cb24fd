//! The policy model: what an organisation declares about its processing.

mod ids;
mod keyword;
mod model;
mod period;
mod taxonomy;
mod vocab;

pub use ids::*;
pub use keyword::Keyword;
pub(crate) use keyword::keyword;
pub use model::*;
pub use period::{CookieLifetime, InvalidPeriod, Period, PeriodUnit};
pub use taxonomy::{CategoryKey, DataCategory, InvalidCategoryKey, Taxonomy, TaxonomyError};
pub use vocab::*;
