//! XMP packets: safe parsing into a flat property list, and building or merging the part stemma writes.
//!
//! Parsing never resolves a DTD: any `<!DOCTYPE` (and so any `<!ENTITY>` declaration) is rejected, only the five
//! predefined entities and character references are expanded, element nesting is limited by
//! [`Limits::max_xml_depth`], and nothing is ever fetched from the network or the file system.
//!
//! What stemma writes lives in ONE `rdf:Description` element that declares the stemma namespace
//! ([`STEMMA_NS`]). Merging into an existing packet inserts that element, byte for byte, just before the closing
//! `</rdf:RDF>`; removing it cuts exactly those bytes back out, so the original packet comes back unchanged. When
//! the packet did not exist before, the element carries `stemma:packet="new"` and removal drops the whole packet.

use std::borrow::Cow;
use std::ops::Range;

use quick_xml::events::attributes::Attribute;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;

use crate::error::{Error, Result};
use crate::limits::Limits;

/// The stemma XMP namespace: a w3id.org permanent identifier, fixed for all of 1.x (specification §4.2).
pub const STEMMA_NS: &str = "https://w3id.org/stemma/ns/1.0/";
/// True for the stemma namespace.
pub fn is_stemma_ns(ns: &str) -> bool {
    ns == STEMMA_NS
}

/// The RDF namespace.
pub const RDF_NS: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#";
/// The namespace of `x:xmpmeta`.
pub const X_NS: &str = "adobe:ns:meta/";
/// The namespace of `xmpNote:HasExtendedXMP`.
pub const XMP_NOTE_NS: &str = "http://ns.adobe.com/xmp/note/";

/// Conventional prefixes of well-known namespaces: properties are reported with these prefixes whatever prefix
/// the packet used.
pub const NAMESPACES: &[(&str, &str)] = &[
    ("dc", "http://purl.org/dc/elements/1.1/"),
    ("xmp", "http://ns.adobe.com/xap/1.0/"),
    ("xmpMM", "http://ns.adobe.com/xap/1.0/mm/"),
    ("photoshop", "http://ns.adobe.com/photoshop/1.0/"),
    ("exif", "http://ns.adobe.com/exif/1.0/"),
    ("exifEX", "http://cipa.jp/exif/1.0/"),
    ("tiff", "http://ns.adobe.com/tiff/1.0/"),
    (
        "Iptc4xmpCore",
        "http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/",
    ),
    ("Iptc4xmpExt", "http://iptc.org/std/Iptc4xmpExt/2008-02-29/"),
    ("plus", "http://ns.useplus.org/ldf/xmp/1.0/"),
    ("xmpNote", XMP_NOTE_NS),
    ("xmpRights", "http://ns.adobe.com/xap/1.0/rights/"),
    ("dcterms", "http://purl.org/dc/terms/"),
    ("stemma", STEMMA_NS),
];

/// The wrapper id of XMP packets.
const PACKET_ID: &str = "W5M0MpCehiHzreSzNTczkc9d";

/// One property: its namespace, the conventional (or the packet's) prefix, local name and values (one for a
/// simple property, one per `rdf:li` for arrays). Struct fields are listed as properties of their own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XmpProperty {
    pub ns: String,
    pub prefix: String,
    pub name: String,
    pub values: Vec<String>,
    /// True for properties inside stemma's own description.
    pub in_stemma: bool,
    /// True for a property of an `rdf:Description` (a child element or an attribute of it), the form XMP writes;
    /// false for one under a typed node or a foreign element.
    pub in_description: bool,
}

impl XmpProperty {
    /// `prefix:name`.
    pub fn qname(&self) -> String {
        format!("{}:{}", self.prefix, self.name)
    }
}

/// A parsed packet.
#[derive(Debug, Clone, Default)]
pub struct XmpDoc {
    /// Every property in document order.
    pub properties: Vec<XmpProperty>,
    /// Byte span of the `rdf:Description` stemma wrote (the first one declaring [`STEMMA_NS`]).
    pub stemma_span: Option<Range<usize>>,
    /// Byte offset of the closing `</rdf:RDF>` tag.
    pub rdf_end: Option<usize>,
}

impl XmpDoc {
    /// The first value of a property named `prefix:name` (conventional prefix).
    pub fn get(&self, qname: &str) -> Option<&str> {
        self.find(qname)
            .and_then(|p| p.values.first())
            .map(String::as_str)
    }

    /// Every value of a property (all its `rdf:li` items).
    pub fn values(&self, qname: &str) -> Vec<&str> {
        self.find(qname)
            .map(|p| p.values.iter().map(String::as_str).collect())
            .unwrap_or_default()
    }

    /// The property stemma wrote wins over one of the same name elsewhere in the packet: a packet can carry an
    /// older `stemma:record` under a node that is not an `rdf:Description` (a re-bound `rdf` prefix makes it a
    /// typed node), and the record stemma just wrote must be the one read back.
    fn find(&self, qname: &str) -> Option<&XmpProperty> {
        let (prefix, name) = qname.split_once(':')?;
        prefer_stemmas(
            self.properties
                .iter()
                .filter(|p| p.prefix == prefix && p.name == name),
        )
    }

    /// True when a property with this namespace and name exists outside stemma's own description.
    pub fn has_foreign(&self, ns: &str, name: &str) -> bool {
        self.properties
            .iter()
            .any(|p| p.ns == ns && p.name == name && !p.in_stemma)
    }

    /// The stemma record (`stemma:record`): the one in stemma's description, else the first property of an
    /// `rdf:Description`. One under a typed node (an `rdf:` prefix re-bound, say) is never the record: a writer
    /// that keeps the record in ExtendedXMP leaves none in the standard packet, and such a leftover would be read
    /// instead.
    pub fn record(&self) -> Option<&str> {
        prefer_stemmas(
            self.properties
                .iter()
                .filter(|p| p.prefix == "stemma" && p.name == "record" && p.in_description),
        )
        .and_then(|p| p.values.first())
        .map(String::as_str)
    }

    /// The GUID named by `xmpNote:HasExtendedXMP`.
    pub fn extended_guid(&self) -> Option<&str> {
        self.get("xmpNote:HasExtendedXMP")
    }
}

/// The first of `named` inside stemma's own description, else the first of them.
fn prefer_stemmas<'a>(mut named: impl Iterator<Item = &'a XmpProperty>) -> Option<&'a XmpProperty> {
    let first = named.next()?;
    if first.in_stemma {
        return Some(first);
    }
    Some(named.find(|p| p.in_stemma).unwrap_or(first))
}

fn xmp_error(reason: impl Into<String>, offset: u64) -> Error {
    Error::Malformed {
        format: "XMP",
        reason: reason.into(),
        offset,
    }
}

fn prefix_for(ns: &str, doc_prefix: &str) -> String {
    NAMESPACES
        .iter()
        .find(|(_, uri)| *uri == ns)
        .map(|(p, _)| (*p).to_string())
        .unwrap_or_else(|| {
            // A foreign namespace that borrows a well-known prefix (`stemma:` bound to another URI) must never be
            // taken for that namespace's properties: it is reported under its URI instead.
            if NAMESPACES.iter().any(|(p, _)| *p == doc_prefix) {
                format!("{{{ns}}}")
            } else {
                doc_prefix.to_string()
            }
        })
}

fn resolved_ns(r: &ResolveResult) -> Option<String> {
    match r {
        ResolveResult::Bound(ns) => Some(String::from_utf8_lossy(ns.0).into_owned()),
        _ => None,
    }
}

/// The text of an XMP packet a writer is about to merge into or remove from. A packet that is not valid UTF-8
/// (a UTF-16 packet, stray bytes) is refused: rewriting it through a lossy decoding would change bytes stemma does
/// not own.
pub fn packet_text(bytes: &[u8]) -> Result<String> {
    String::from_utf8(bytes.to_vec()).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        xmp_error(
            format!("the packet is not valid UTF-8 (byte {at}); it is not rewritten"),
            at as u64,
        )
    })
}

/// Parse a packet into its properties. Rejects DTDs, unknown entities and nesting deeper than the limit.
pub fn parse(packet: &str, limits: &Limits) -> Result<XmpDoc> {
    let mut reader = NsReader::from_str(packet);
    reader.config_mut().trim_text(false);
    let mut doc = XmpDoc::default();
    let mut stack: Vec<Open> = Vec::new();
    // Start offset of stemma's description while it is open.
    let mut stemma_desc_start: Option<usize> = None;
    loop {
        let before = usize::try_from(reader.buffer_position()).unwrap_or(0);
        let (ns, event) = match reader.read_resolved_event() {
            Ok((ns, event)) => (resolved_ns(&ns), event),
            Err(e) => return Err(xmp_error(e.to_string(), before as u64)),
        };
        match event {
            Event::DocType(_) => {
                return Err(xmp_error(
                    "DOCTYPE and ENTITY declarations are not allowed in XMP",
                    before as u64,
                ))
            }
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(event, Event::Empty(_));
                if stack.len() as u64 >= limits.max_xml_depth {
                    return Err(Error::Limit {
                        limit: "max_xml_depth",
                        max: limits.max_xml_depth,
                        found: stack.len() as u64 + 1,
                        context: format!("XMP element at offset {before}"),
                    });
                }
                let local = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                let is_rdf = ns.as_deref() == Some(RDF_NS);
                let is_meta = ns.as_deref() == Some(X_NS);
                // The parent property element now has element content: its text was layout.
                if let Some(parent) = stack.last_mut() {
                    parent.has_children = true;
                    parent.pending.clear();
                }
                let mut open = Open {
                    rdf_local: is_rdf.then(|| local.clone()),
                    property: None,
                    stemma_desc: false,
                    has_children: false,
                    pending: String::new(),
                };
                if is_rdf && local == "Description" && declares_stemma(e) {
                    open.stemma_desc = true;
                    if doc.stemma_span.is_none() && stemma_desc_start.is_none() {
                        stemma_desc_start = Some(before);
                        if empty {
                            let end = usize::try_from(reader.buffer_position()).unwrap_or(0);
                            doc.stemma_span = Some(before..end);
                            stemma_desc_start = None;
                        }
                    }
                }
                if is_rdf && local == "li" {
                    if let Some(idx) = current_property(&stack) {
                        doc.properties[idx].values.push(String::new());
                    }
                } else if !is_rdf && !is_meta {
                    if let Some(ns) = &ns {
                        let prefix = String::from_utf8_lossy(
                            e.name().prefix().map(|p| p.into_inner()).unwrap_or(b""),
                        )
                        .into_owned();
                        let in_description = stack
                            .last()
                            .is_some_and(|o| o.rdf_local.as_deref() == Some("Description"));
                        doc.properties.push(XmpProperty {
                            ns: ns.to_string(),
                            prefix: prefix_for(ns, &prefix),
                            name: local.clone(),
                            values: Vec::new(),
                            in_stemma: stemma_desc_start.is_some(),
                            in_description,
                        });
                        open.property = Some(doc.properties.len() - 1);
                    }
                }
                // Attributes that are properties (rdf:Description shorthand, struct shorthand).
                if !is_meta {
                    for attr in e.attributes() {
                        let attr = attr.map_err(|err| xmp_error(err.to_string(), before as u64))?;
                        attribute_property(
                            &reader,
                            &attr,
                            &mut doc,
                            before,
                            open.stemma_desc || stemma_desc_start.is_some(),
                            is_rdf && local == "Description",
                        )?;
                    }
                }
                if !empty {
                    stack.push(open);
                } else if open.stemma_desc && stemma_desc_start.is_some() {
                    stemma_desc_start = None;
                }
            }
            Event::End(_) => {
                if let Some(open) = stack.pop() {
                    if let (Some(idx), false) = (open.property, open.has_children) {
                        if !open.pending.is_empty() {
                            doc.properties[idx].values.push(open.pending);
                        }
                    }
                    let here = usize::try_from(reader.buffer_position()).unwrap_or(0);
                    if open.stemma_desc {
                        if let Some(start) = stemma_desc_start.take() {
                            doc.stemma_span = Some(start..here);
                        }
                    }
                    if open.rdf_local.as_deref() == Some("RDF") {
                        doc.rdf_end = Some(before);
                    }
                }
            }
            Event::Text(t) => {
                let text = t
                    .xml_content()
                    .map_err(|e| xmp_error(e.to_string(), before as u64))?;
                push_text(&mut stack, &mut doc, &text);
            }
            Event::CData(t) => {
                let text = String::from_utf8_lossy(&t.into_inner()).into_owned();
                push_text(&mut stack, &mut doc, &text);
            }
            Event::GeneralRef(r) => {
                let text = if r.is_char_ref() {
                    match r.resolve_char_ref() {
                        Ok(Some(c)) => c.to_string(),
                        _ => return Err(xmp_error("invalid character reference", before as u64)),
                    }
                } else {
                    let name = r
                        .decode()
                        .map_err(|e| xmp_error(e.to_string(), before as u64))?;
                    match quick_xml::escape::resolve_predefined_entity(&name) {
                        Some(s) => s.to_string(),
                        None => {
                            return Err(xmp_error(
                                format!("undeclared entity &{name}; (entities are not allowed)"),
                                before as u64,
                            ))
                        }
                    }
                };
                push_text(&mut stack, &mut doc, &text);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !stack.is_empty() {
        return Err(xmp_error(
            "unclosed elements at end of packet",
            packet.len() as u64,
        ));
    }
    Ok(doc)
}

fn declares_stemma(e: &BytesStart) -> bool {
    e.attributes().flatten().any(|a| {
        a.key.as_ref().starts_with(b"xmlns") && is_stemma_ns(&String::from_utf8_lossy(&a.value))
    })
}

/// An open element during parsing.
struct Open {
    /// The local name, for elements in the RDF namespace.
    rdf_local: Option<String>,
    /// The property this element opened.
    property: Option<usize>,
    /// True for stemma's own description.
    stemma_desc: bool,
    /// True once a child element opened (the element's text is then layout).
    has_children: bool,
    /// Text of a simple property, until its end tag.
    pending: String,
}

fn current_property(stack: &[Open]) -> Option<usize> {
    stack.iter().rev().find_map(|o| o.property)
}

fn push_text(stack: &mut [Open], doc: &mut XmpDoc, text: &str) {
    let Some(idx) = current_property(stack) else {
        return;
    };
    let Some(innermost) = stack.last_mut() else {
        return;
    };
    if innermost.rdf_local.as_deref() == Some("li") {
        // An array item: its text is one value.
        let prop = &mut doc.properties[idx];
        if prop.values.is_empty() {
            prop.values.push(String::new());
        }
        if let Some(last) = prop.values.last_mut() {
            last.push_str(text);
        }
    } else if innermost.property == Some(idx) && !innermost.has_children {
        // A simple property: kept until its end tag, dropped if element content follows.
        innermost.pending.push_str(text);
    }
}

fn attribute_property(
    reader: &NsReader<&[u8]>,
    attr: &Attribute,
    doc: &mut XmpDoc,
    offset: usize,
    in_stemma: bool,
    in_description: bool,
) -> Result<()> {
    let key = attr.key;
    if key.as_ref().starts_with(b"xmlns") || key.as_ref().starts_with(b"xml:") {
        return Ok(());
    }
    let (ns, local) = reader.resolve_attribute(key);
    let Some(ns) = resolved_ns(&ns) else {
        return Ok(());
    };
    if ns == RDF_NS {
        return Ok(());
    }
    let value: Cow<str> = attr
        .unescape_value()
        .map_err(|e| xmp_error(e.to_string(), offset as u64))?;
    let prefix = String::from_utf8_lossy(key.prefix().map(|p| p.into_inner()).unwrap_or(b""));
    doc.properties.push(XmpProperty {
        prefix: prefix_for(&ns, &prefix),
        ns,
        name: String::from_utf8_lossy(local.as_ref()).into_owned(),
        values: vec![value.into_owned()],
        in_stemma,
        in_description,
    });
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------------
// Building

/// One property stemma writes.
#[derive(Debug, Clone, PartialEq)]
pub struct XmpValue {
    pub prefix: &'static str,
    pub ns: &'static str,
    pub name: &'static str,
    pub value: String,
    /// Written as a language alternative (`rdf:Alt` with one `x-default` item), as `dc:description` requires.
    pub lang_alt: bool,
}

/// Escape text for XML element content or attribute values. Characters XML 1.0 cannot carry become U+FFFD;
/// carriage returns are written as references so that they survive line-end normalisation.
pub fn escape_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\r' => out.push_str("&#xD;"),
            '\t' | '\n' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// The `rdf:Description` element stemma writes: namespace declarations, marker attributes (`stemma:name="v"`)
/// and the properties. It declares `rdf` itself so that it can be inserted into any packet.
pub fn stemma_description(values: &[XmpValue], markers: &[(&str, String)]) -> String {
    let mut decls: Vec<(&str, &str)> = vec![("rdf", RDF_NS), ("stemma", STEMMA_NS)];
    for v in values {
        if !decls.iter().any(|(p, _)| *p == v.prefix) {
            decls.push((v.prefix, v.ns));
        }
    }
    let mut out = String::from("<rdf:Description rdf:about=\"\"");
    for (p, uri) in &decls {
        out.push_str(&format!(" xmlns:{p}=\"{uri}\""));
    }
    for (name, value) in markers {
        out.push_str(&format!(" stemma:{name}=\"{}\"", escape_text(value)));
    }
    out.push('>');
    for v in values {
        let q = format!("{}:{}", v.prefix, v.name);
        if v.lang_alt {
            out.push_str(&format!(
                "<{q}><rdf:Alt><rdf:li xml:lang=\"x-default\">{}</rdf:li></rdf:Alt></{q}>",
                escape_text(&v.value)
            ));
        } else {
            out.push_str(&format!("<{q}>{}</{q}>", escape_text(&v.value)));
        }
    }
    out.push_str("</rdf:Description>");
    out
}

/// A new packet holding one description.
pub fn new_packet(description: &str) -> String {
    format!(
        "<?xpacket begin=\"\u{FEFF}\" id=\"{PACKET_ID}\"?><x:xmpmeta xmlns:x=\"{X_NS}\"><rdf:RDF xmlns:rdf=\"{RDF_NS}\">{description}</rdf:RDF></x:xmpmeta><?xpacket end=\"w\"?>"
    )
}

/// Insert `description` just before `</rdf:RDF>` of an existing packet.
pub fn insert_description(packet: &str, doc: &XmpDoc, description: &str) -> Result<String> {
    let at = doc
        .rdf_end
        .ok_or_else(|| xmp_error("packet has no rdf:RDF element to add to", 0))?;
    let mut out = String::with_capacity(packet.len() + description.len());
    out.push_str(packet.get(..at).unwrap_or(packet));
    out.push_str(description);
    out.push_str(packet.get(at..).unwrap_or(""));
    Ok(out)
}

/// What removing stemma's description left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Removed {
    /// The packet had no stemma description.
    Nothing,
    /// stemma created the packet: drop it entirely. Carries stemma's marker attributes.
    WholePacket(Vec<(String, String)>),
    /// The packet without stemma's description, and the markers.
    Packet(String, Vec<(String, String)>),
}

/// Remove stemma's description from a packet.
pub fn remove_stemma(packet: &str, limits: &Limits) -> Result<Removed> {
    let doc = parse(packet, limits)?;
    let Some(span) = doc.stemma_span.clone() else {
        return Ok(Removed::Nothing);
    };
    let markers = markers_of(packet.get(span.clone()).unwrap_or(""), limits)?;
    if markers.iter().any(|(k, v)| k == "packet" && v == "new") {
        return Ok(Removed::WholePacket(markers));
    }
    let mut out = String::with_capacity(packet.len());
    out.push_str(packet.get(..span.start).unwrap_or(""));
    out.push_str(packet.get(span.end..).unwrap_or(""));
    Ok(Removed::Packet(out, markers))
}

/// The `stemma:*` attributes of stemma's description element.
fn markers_of(description: &str, limits: &Limits) -> Result<Vec<(String, String)>> {
    let mut reader = NsReader::from_str(description);
    let _ = limits;
    let mut out = Vec::new();
    if let Ok((_, Event::Start(e) | Event::Empty(e))) = reader.read_resolved_event() {
        for attr in e.attributes().flatten() {
            let (ns, local) = reader.resolve_attribute(attr.key);
            if resolved_ns(&ns).as_deref().is_some_and(is_stemma_ns) {
                let v = attr
                    .unescape_value()
                    .map(Cow::into_owned)
                    .unwrap_or_default();
                out.push((String::from_utf8_lossy(local.as_ref()).into_owned(), v));
            }
        }
    }
    Ok(out)
}

/// The packet that remains after an edit removes stemma's description: `None` when nothing remains. A packet
/// that cannot be parsed is not stemma's and is kept as it is, except when `strict` (a record is being merged
/// into it), where the parse error is returned.
pub(crate) fn after_removal(
    existing: Option<&str>,
    touch_stemma: bool,
    strict: bool,
    limits: &Limits,
) -> Result<Option<String>> {
    let Some(p) = existing else {
        return Ok(None);
    };
    if !touch_stemma {
        return Ok(Some(p.to_string()));
    }
    match remove_stemma(p, limits) {
        Ok(Removed::Nothing) => Ok(Some(p.to_string())),
        Ok(Removed::WholePacket(_)) => Ok(None),
        Ok(Removed::Packet(rest, _)) => Ok(Some(rest)),
        Err(e) if strict => Err(e),
        Err(_) => Ok(Some(p.to_string())),
    }
}

/// Merge stemma's properties into an optional existing packet. Mirrors the packet already carries (outside
/// stemma's description) are not written twice; any earlier stemma description is replaced, keeping its markers
/// (so that a strip restores the state before the FIRST stamp). `packet="new"` marks a packet stemma created.
pub fn merge(
    existing: Option<&str>,
    values: &[XmpValue],
    markers: &[(&str, String)],
    limits: &Limits,
) -> Result<String> {
    let combine = |old: &[(String, String)], fresh: bool| -> Vec<(&'static str, String)> {
        let mut all: Vec<(&'static str, String)> = Vec::new();
        if fresh {
            all.push(("packet", "new".into()));
        }
        for (k, v) in old {
            if let Some(name) = CARRIED_MARKERS.iter().find(|n| **n == k) {
                if !all.iter().any(|(n, _)| n == name) {
                    all.push((name, v.clone()));
                }
            }
        }
        for (n, v) in markers {
            if let Some(name) = KNOWN_MARKERS.iter().find(|k| *k == n) {
                if !all.iter().any(|(k, _)| k == name) {
                    all.push((name, v.clone()));
                }
            }
        }
        // One order whatever the history, so that re-stamping is stable.
        all.sort_by_key(|(k, _)| KNOWN_MARKERS.iter().position(|n| n == k));
        all
    };
    let Some(packet) = existing else {
        return Ok(new_packet(&stemma_description(values, &combine(&[], true))));
    };
    let (base, old) = match remove_stemma(packet, limits)? {
        Removed::Nothing => (packet.to_string(), Vec::new()),
        Removed::WholePacket(m) => {
            return Ok(new_packet(&stemma_description(values, &combine(&m, true))));
        }
        Removed::Packet(p, m) => (p, m),
    };
    let doc = parse(&base, limits)?;
    let kept: Vec<XmpValue> = values
        .iter()
        .filter(|v| v.ns == STEMMA_NS || !doc.has_foreign(v.ns, v.name))
        .cloned()
        .collect();
    insert_description(
        &base,
        &doc,
        &stemma_description(&kept, &combine(&old, false)),
    )
}

/// Marker attributes stemma understands.
pub const KNOWN_MARKERS: &[&str] = &["packet", "webp", "exif", "extended", "gif"];

/// Markers that describe the file before the FIRST stamp and are kept when the record is replaced; the others
/// (`exif="new"`, `extended="<GUID>"`) describe what the current stamp wrote.
const CARRIED_MARKERS: &[&str] = &["packet", "webp", "gif"];

/// Read a marker of stemma's description, if the packet has one.
pub fn marker(packet: &str, name: &str, limits: &Limits) -> Option<String> {
    let doc = parse(packet, limits).ok()?;
    let span = doc.stemma_span?;
    markers_of(packet.get(span)?, limits)
        .ok()?
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

/// Add a packet found in a file to a scan: an entry (`origin: "xmp"`, `key`), and the stemma record when the
/// packet carries one. A packet that cannot be parsed safely becomes a warning; its text is still listed.
pub(crate) fn push_packet(
    meta: &mut crate::metadata::Metadata,
    bytes: &[u8],
    key: &str,
    after_image_data: bool,
    limits: &Limits,
) {
    let (text, encoding) = crate::text::decode_utf8_lossy(bytes);
    match parse(&text, limits) {
        Ok(doc) => {
            if let Some(record) = doc.record() {
                if record.len() as u64 > limits.max_record {
                    meta.warnings.push(format!(
                        "stemma record in XMP is {} bytes, over max_record; ignored",
                        record.len()
                    ));
                } else if meta.record_json.is_some() {
                    meta.warnings
                        .push("second stemma record (in XMP) ignored".to_string());
                } else {
                    meta.record_json = Some(record.to_string());
                    meta.record_origin = Some("xmp".into());
                }
            }
        }
        Err(e) => meta.warnings.push(format!("XMP {key} not read: {e}")),
    }
    meta.entries.push(crate::metadata::Entry {
        origin: "xmp".into(),
        key: key.into(),
        value: crate::metadata::Value::Text(text),
        after_image_data,
        encoding: Some(encoding),
    });
}

/// The XMP a record edit writes: the standard packet, and an extended one with its GUID when needed.
pub struct XmpWrite {
    pub standard: String,
    pub extended: Option<(String, String)>,
}

/// Plan the XMP for a new record, merging the record and its `mirrors` (computed once above the handlers) into
/// `existing`; `max_standard` is the largest standard packet the container takes (None = unlimited; JPEG's
/// segment limit moves the record to an ExtendedXMP packet). `markers` are stemma's marker attributes. Shared by
/// every container that keeps the record in XMP (JPEG, WebP, GIF, MP4).
pub fn plan_record_packet(
    existing: Option<&str>,
    json: &str,
    mirrors: &[XmpValue],
    markers: &[(&str, String)],
    max_standard: Option<usize>,
    limits: &Limits,
) -> Result<XmpWrite> {
    let mut values = mirrors.to_vec();
    values.push(crate::mirror::record_value(json));
    let standard = merge(existing, &values, markers, limits)?;
    let Some(max) = max_standard else {
        return Ok(XmpWrite {
            standard,
            extended: None,
        });
    };
    if standard.len() <= max {
        return Ok(XmpWrite {
            standard,
            extended: None,
        });
    }
    // Too big for one segment: the record moves to an ExtendedXMP packet.
    if let Some(p) = existing {
        let doc = parse(p, limits)?;
        if doc.has_foreign(XMP_NOTE_NS, "HasExtendedXMP") {
            return Err(Error::Unsupported {
                operation: "adding ExtendedXMP to a packet that already has ExtendedXMP",
                format: "jpeg",
            });
        }
    }
    let extended = new_packet(&stemma_description(
        &[crate::mirror::record_value(json)],
        &[],
    ));
    let guid = {
        use md5::Digest as _;
        hex::encode_upper(md5::Md5::digest(extended.as_bytes()))
    };
    let mut std_values = mirrors.to_vec();
    std_values.push(XmpValue {
        prefix: "xmpNote",
        ns: XMP_NOTE_NS,
        name: "HasExtendedXMP",
        value: guid.clone(),
        lang_alt: false,
    });
    let mut m: Vec<(&str, String)> = markers.to_vec();
    m.push(("extended", guid.clone()));
    let standard = merge(existing, &std_values, &m, limits)?;
    if standard.len() > max {
        return Err(Error::Limit {
            limit: "max_standard_xmp",
            max: max as u64,
            found: standard.len() as u64,
            context: "standard XMP packet without the record (prompt mirrors too large)".into(),
        });
    }
    Ok(XmpWrite {
        standard,
        extended: Some((extended, guid)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:d="http://purl.org/dc/elements/1.1/" xmp:CreatorTool="Tool &amp; Co">
<d:description><rdf:Alt><rdf:li xml:lang="x-default">a cat &lt;3</rdf:li></rdf:Alt></d:description>
<d:subject>
  <rdf:Bag>
    <rdf:li>one</rdf:li>
    <rdf:li>two</rdf:li>
  </rdf:Bag>
</d:subject>
<d:format> spaced </d:format>
</rdf:Description></rdf:RDF></x:xmpmeta>
<?xpacket end="w"?>"#;

    #[test]
    fn reads_properties_with_conventional_prefixes() {
        let doc = parse(SAMPLE, &Limits::DEFAULT).unwrap();
        assert_eq!(doc.get("xmp:CreatorTool"), Some("Tool & Co"));
        assert_eq!(doc.get("dc:description"), Some("a cat <3"));
        assert_eq!(doc.values("dc:subject"), vec!["one", "two"]);
        assert_eq!(doc.get("dc:format"), Some(" spaced "));
        assert!(doc.rdf_end.is_some());
    }

    #[test]
    fn merge_and_remove_restore_the_original_packet() {
        let values = vec![
            XmpValue {
                prefix: "stemma",
                ns: STEMMA_NS,
                name: "record",
                value: "{\"a\":\"< & >\r\n\"}".into(),
                lang_alt: false,
            },
            XmpValue {
                prefix: "dc",
                ns: "http://purl.org/dc/elements/1.1/",
                name: "description",
                value: "other".into(),
                lang_alt: true,
            },
        ];
        let merged = merge(Some(SAMPLE), &values, &[], &Limits::DEFAULT).unwrap();
        let doc = parse(&merged, &Limits::DEFAULT).unwrap();
        assert_eq!(doc.record(), Some("{\"a\":\"< & >\r\n\"}"));
        // The existing description wins; no duplicate.
        assert_eq!(doc.values("dc:description"), vec!["a cat <3"]);
        let again = merge(Some(&merged), &values, &[], &Limits::DEFAULT).unwrap();
        assert_eq!(again, merged);
        match remove_stemma(&merged, &Limits::DEFAULT).unwrap() {
            Removed::Packet(p, _) => assert_eq!(p, SAMPLE),
            other => panic!("{other:?}"),
        }
        let fresh = merge(
            None,
            &values,
            &[("webp", "simple".into())],
            &Limits::DEFAULT,
        )
        .unwrap();
        assert_eq!(
            marker(&fresh, "webp", &Limits::DEFAULT).as_deref(),
            Some("simple")
        );
        assert!(matches!(
            remove_stemma(&fresh, &Limits::DEFAULT).unwrap(),
            Removed::WholePacket(_)
        ));
    }

    #[test]
    fn a_packet_that_is_not_utf8_is_refused_for_rewriting() {
        // Found by fuzzing (write_roundtrip): a stray byte in a WebP's packet came back as U+FFFD after stamp + strip.
        let bad = b"<?xpacket begin=\"\" id=\"W5M0MpCehiHzreSzNTczk\xff9d\"?><x:xmpmeta xmlns:x=\"adobe:ns:meta/\"/>";
        let err = packet_text(bad).unwrap_err();
        assert!(err.to_string().contains("not valid UTF-8"), "{err}");
        assert_eq!(packet_text(b"<x/>").unwrap(), "<x/>");
    }

    #[test]
    fn a_foreign_namespace_with_the_stemma_prefix_is_not_stemma() {
        // Found by fuzzing (write_roundtrip): `stemma:` bound to another URI was read as stemma's record.
        let packet = r#"<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" xmlns:stemma="https://w6id.org/stemma/ns/1.0/"><stemma:record>{"stemma":"1.0"}</stemma:record></rdf:Description></rdf:RDF></x:xmpmeta>"#;
        let doc = parse(packet, &Limits::DEFAULT).unwrap();
        assert_eq!(doc.record(), None);
        let values = [XmpValue {
            prefix: "stemma",
            ns: STEMMA_NS,
            name: "record",
            value: r#"{"stemma":"1.1"}"#.into(),
            lang_alt: false,
        }];
        let merged = merge(Some(packet), &values, &[], &Limits::DEFAULT).unwrap();
        assert_eq!(
            parse(&merged, &Limits::DEFAULT).unwrap().record(),
            Some(r#"{"stemma":"1.1"}"#)
        );
        assert!(
            merged.contains("https://w6id.org/stemma/ns/1.0/"),
            "{merged}"
        );
    }

    #[test]
    fn the_record_stemma_wrote_wins_over_one_under_a_rebound_rdf_prefix() {
        // Found by fuzzing (write_roundtrip): `rdf:` re-bound on a description makes it a typed node, not an
        // `rdf:Description`; its old `stemma:record` came back instead of the record just written.
        let packet = r#"<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" xmlns:rdf="http://www.-rdf-syntax-ns#" xmlns:stemma="https://w3id.org/stemma/ns/1.0/"><stemma:record>{"stemma":"1.0"}</stemma:record></rdf:Description></rdf:RDF></x:xmpmeta>"#;
        let values = [XmpValue {
            prefix: "stemma",
            ns: STEMMA_NS,
            name: "record",
            value: r#"{"stemma":"1.1"}"#.into(),
            lang_alt: false,
        }];
        let merged = merge(Some(packet), &values, &[], &Limits::DEFAULT).unwrap();
        assert_eq!(
            parse(&merged, &Limits::DEFAULT).unwrap().record(),
            Some(r#"{"stemma":"1.1"}"#)
        );
        // Removing what stemma wrote gives the packet back as it was.
        match remove_stemma(&merged, &Limits::DEFAULT).unwrap() {
            Removed::Packet(rest, _) => assert_eq!(rest, packet),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_record_under_a_typed_node_is_not_the_record() {
        // Found by fuzzing (write_roundtrip, JPEG): a long record goes to ExtendedXMP and leaves no record in the
        // standard packet; a leftover `stemma:record` under a typed node (an `rdf:` prefix re-bound) was read
        // instead of the ExtendedXMP one.
        let typed = r#"<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" xmlns:rdf="http://www.w3.ort 1999/02/22-rdf-syntax-ns#" xmlns:stemma="https://w3id.org/stemma/ns/1.0/"><stemma:record>{"stemma":"1.0"}</stemma:record></rdf:Description></rdf:RDF></x:xmpmeta>"#;
        assert_eq!(parse(typed, &Limits::DEFAULT).unwrap().record(), None);
        // Declared on rdf:RDF instead of the description (as some toolkits write it): still the record.
        let outer = r#"<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:stemma="https://w3id.org/stemma/ns/1.0/"><rdf:Description rdf:about=""><stemma:record>{"stemma":"1.0"}</stemma:record></rdf:Description></rdf:RDF></x:xmpmeta>"#;
        assert_eq!(
            parse(outer, &Limits::DEFAULT).unwrap().record(),
            Some(r#"{"stemma":"1.0"}"#)
        );
        let attribute = r#"<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" xmlns:stemma="https://w3id.org/stemma/ns/1.0/" stemma:record="{}"/></rdf:RDF></x:xmpmeta>"#;
        assert_eq!(
            parse(attribute, &Limits::DEFAULT).unwrap().record(),
            Some("{}")
        );
    }

    #[test]
    fn hostile_packets_are_rejected() {
        let laughs = r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]><x:xmpmeta xmlns:x="adobe:ns:meta/">&lol2;</x:xmpmeta>"#;
        let err = parse(laughs, &Limits::DEFAULT).unwrap_err();
        assert!(err.to_string().contains("DOCTYPE"), "{err}");
        let xxe = r#"<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><x>&xxe;</x>"#;
        assert!(parse(xxe, &Limits::DEFAULT).is_err());
        let undeclared = "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\">&xxe;</x:xmpmeta>";
        assert!(parse(undeclared, &Limits::DEFAULT).is_err());
        let deep = "<a>".repeat(100) + &"</a>".repeat(100);
        assert!(matches!(
            parse(&deep, &Limits::DEFAULT).unwrap_err(),
            Error::Limit {
                limit: "max_xml_depth",
                ..
            }
        ));
        assert!(parse("<a><b></a>", &Limits::DEFAULT).is_err());
    }
}
