//! Tags and ratings, kept by image (content id), so they follow a file wherever it moves. They can also be
//! written into the record's `ext` (see [`crate::extract::EXT_TAGS`]) to travel with the file; a scan adds tags
//! found there.

use rusqlite::{params, TransactionBehavior};
use serde_json::Value;
use stemma_model::Record;

use crate::catalog::Catalog;
use crate::error::{Error, Result};
use crate::extract::{normalise_tag, EXT_RATING, EXT_TAGS};
use crate::find::tags_of;

/// Add and remove tags of an image; returns its tags afterwards.
pub fn tag(
    cat: &mut Catalog,
    image: i64,
    add: &[String],
    remove: &[String],
) -> Result<Vec<String>> {
    let tx = cat
        .conn
        .transaction_with_behavior(TransactionBehavior::Immediate)?;
    for t in add
        .iter()
        .map(|t| normalise_tag(t))
        .filter(|t| !t.is_empty())
    {
        tx.execute(
            "INSERT INTO tags (image_id, tag) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
            params![image, t],
        )?;
    }
    for t in remove.iter().map(|t| normalise_tag(t)) {
        tx.execute(
            "DELETE FROM tags WHERE image_id = ?1 AND tag = ?2",
            params![image, t],
        )?;
    }
    tx.commit()?;
    tags_of(cat, image)
}

/// Rate an image 0..=5 (0 clears the rating).
pub fn rate(cat: &mut Catalog, image: i64, rating: u8) -> Result<()> {
    if rating > 5 {
        return Err(Error::NotInCatalog(format!(
            "rating {rating}: ratings are 0 (none) to 5"
        )));
    }
    let value = (rating > 0).then_some(i64::from(rating));
    cat.conn.execute(
        "UPDATE images SET rating = ?2 WHERE id = ?1",
        params![image, value],
    )?;
    Ok(())
}

/// The rating of an image.
pub fn rating_of(cat: &Catalog, image: i64) -> Result<Option<i64>> {
    Ok(cat
        .conn
        .query_row("SELECT rating FROM images WHERE id = ?1", [image], |r| {
            r.get(0)
        })?)
}

/// Put the catalog's tags and rating of an image into a record's `ext`, so they travel with the file.
pub fn stamp_into(record: &mut Record, tags: &[String], rating: Option<i64>) {
    if tags.is_empty() {
        record.ext.remove(EXT_TAGS);
    } else {
        record.ext.insert(
            EXT_TAGS.to_string(),
            Value::Array(tags.iter().cloned().map(Value::String).collect()),
        );
    }
    match rating {
        Some(r) => {
            record.ext.insert(EXT_RATING.to_string(), Value::from(r));
        }
        None => {
            record.ext.remove(EXT_RATING);
        }
    }
}
