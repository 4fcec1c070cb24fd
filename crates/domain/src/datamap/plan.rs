//! From a person's identities to the steps of a request: which collections to read, through which
//! fields, in which order, and in which order to erase.
