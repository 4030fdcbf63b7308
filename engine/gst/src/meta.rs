//! `SlateMeta`: a [`slate_meta::Record`] attached to a `GstBuffer`.
//!
//! Survival through GStreamer: the meta API is registered with no tags, so
//! elements that copy "untagged" metas keep it: `queue` and `tee` pass the
//! buffer itself, `videoconvert`, `videoscale`, `x264enc` and the other
//! `GstVideoEncoder`/`GstVideoDecoder`/`GstBaseTransform` subclasses copy it to
//! their output. Boxes are pixels of the frame they were found in: an
//! element that sends the video scale transform gets them rescaled, but
//! GStreamer 1.22's `videoscale` sends it only to metas tagged `video`+`size`,
//! and such tags would make every non-video transform (all the audio ones)
//! drop the meta; so after `videoscale` boxes keep their old coordinates. Muxers (`mp4mux`, `mpegtsmux`) do not carry buffer metas
//! into files: `metalog` writes them to a JSON Lines sidecar for that.

use std::ptr;
use std::sync::LazyLock;

use gst::glib;
use gst::glib::translate::{IntoGlib, from_glib};
use gst::prelude::*;
use slate_meta::Record;

/// The records [`SlateMeta::collect`] gathered, in the order their buffers
/// passed.
#[derive(Debug, Clone, Default)]
pub struct Collected(std::sync::Arc<std::sync::Mutex<Vec<Record>>>);

impl Collected {
    /// The records so far, leaving none behind.
    pub fn take(&self) -> Vec<Record> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// The Slate metadata of one buffer, as a GStreamer meta.
#[repr(transparent)]
pub struct SlateMeta(ffi::SlateMetaFfi);

// SAFETY: the meta only holds a `Record`, which is Send + Sync.
unsafe impl Send for SlateMeta {}
unsafe impl Sync for SlateMeta {}

impl SlateMeta {
    /// Attaches `record` to `buffer`, merging into a `SlateMeta` already there.
    pub fn add(buffer: &mut gst::BufferRef, record: Record) -> gst::MetaRefMut<'_, Self, gst::meta::Standalone> {
        if buffer.meta::<SlateMeta>().is_some() {
            let mut meta = buffer.meta_mut::<SlateMeta>().expect("checked above");
            meta.record_mut().merge(&record);
            return meta;
        }
        unsafe {
            let mut params = std::mem::ManuallyDrop::new(record);
            let meta = gst::ffi::gst_buffer_add_meta(
                buffer.as_mut_ptr(),
                ffi::meta_info(),
                &mut *params as *mut Record as glib::ffi::gpointer,
            ) as *mut ffi::SlateMetaFfi;
            Self::from_mut_ptr(buffer, meta)
        }
    }

    /// Makes `record` the buffer's metadata, replacing what was there (a
    /// stage returning the metadata it was given, changed).
    pub fn set(buffer: &mut gst::BufferRef, record: Record) {
        match buffer.meta_mut::<SlateMeta>() {
            Some(mut meta) => *meta.record_mut() = record,
            None if !record.is_empty() => {
                SlateMeta::add(buffer, record);
            }
            None => {}
        }
    }

    /// The record on `buffer`, or an empty one.
    pub fn record_of(buffer: &gst::BufferRef) -> Record {
        buffer
            .meta::<SlateMeta>()
            .map(|m| m.record().clone())
            .unwrap_or_default()
    }

    /// Collects the record of every buffer that passes `pad` from now on:
    /// what a pipeline's stages computed (a face's embedding, a frame's
    /// signature), for code that runs Slate's elements to get it.
    pub fn collect(pad: &gst::Pad) -> Collected {
        let collected = Collected::default();
        let records = collected.0.clone();
        pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
            if let Some(gst::PadProbeData::Buffer(buffer)) = &info.data {
                let record = SlateMeta::record_of(buffer);
                records.lock().unwrap_or_else(|e| e.into_inner()).push(record);
            }
            gst::PadProbeReturn::Ok
        });
        collected
    }

    pub fn record(&self) -> &Record {
        &self.0.record
    }

    pub fn record_mut(&mut self) -> &mut Record {
        &mut self.0.record
    }
}

unsafe impl gst::MetaAPI for SlateMeta {
    type GstType = ffi::SlateMetaFfi;

    fn meta_api() -> glib::Type {
        ffi::meta_api_get_type()
    }
}

impl std::fmt::Debug for SlateMeta {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("SlateMeta").field(self.record()).finish()
    }
}

mod ffi {
    use super::*;

    #[repr(C)]
    pub struct SlateMetaFfi {
        parent: gst::ffi::GstMeta,
        pub(super) record: Record,
    }

    pub(super) fn meta_api_get_type() -> glib::Type {
        static TYPE: LazyLock<glib::Type> = LazyLock::new(|| unsafe {
            let tags = [ptr::null::<std::os::raw::c_char>()];
            let t = from_glib(gst::ffi::gst_meta_api_type_register(
                c"SlateMetaAPI".as_ptr(),
                tags.as_ptr() as *mut *const _,
            ));
            assert_ne!(t, glib::Type::INVALID, "SlateMetaAPI could not be registered");
            t
        });
        *TYPE
    }

    /// Takes the `Record` handed over by `SlateMeta::add` as `params`.
    unsafe extern "C" fn init(
        meta: *mut gst::ffi::GstMeta,
        params: glib::ffi::gpointer,
        _buffer: *mut gst::ffi::GstBuffer,
    ) -> glib::ffi::gboolean {
        unsafe {
            let meta = meta as *mut SlateMetaFfi;
            let record = if params.is_null() {
                Record::default()
            } else {
                ptr::read(params as *const Record)
            };
            ptr::write(&mut (*meta).record, record);
        }
        true.into_glib()
    }

    unsafe extern "C" fn free(meta: *mut gst::ffi::GstMeta, _buffer: *mut gst::ffi::GstBuffer) {
        unsafe { ptr::drop_in_place(&mut (*(meta as *mut SlateMetaFfi)).record) }
    }

    unsafe extern "C" fn transform(
        dest: *mut gst::ffi::GstBuffer,
        meta: *mut gst::ffi::GstMeta,
        _buffer: *mut gst::ffi::GstBuffer,
        type_: glib::ffi::GQuark,
        data: glib::ffi::gpointer,
    ) -> glib::ffi::gboolean {
        unsafe {
            let mut record = (*(meta as *mut SlateMetaFfi)).record.clone();
            let quark: glib::Quark = from_glib(type_);
            if quark == glib::Quark::from_str("gst-copy") {
                // Copied as is.
            } else if type_ == gst_video::ffi::gst_video_meta_transform_scale_get_quark() {
                let scale = &*(data as *const gst_video::ffi::GstVideoMetaTransform);
                let (from, to) = (&*scale.in_info, &*scale.out_info);
                if from.width > 0 && from.height > 0 {
                    record.scale_boxes(
                        to.width as f32 / from.width as f32,
                        to.height as f32 / from.height as f32,
                    );
                }
            } else {
                // A transform we cannot describe (e.g. a crop): dropping is
                // safer than carrying boxes that point at the wrong pixels.
                return false.into_glib();
            }
            SlateMeta::add(gst::BufferRef::from_mut_ptr(dest), record);
        }
        true.into_glib()
    }

    pub(super) fn meta_info() -> *const gst::ffi::GstMetaInfo {
        struct Info(ptr::NonNull<gst::ffi::GstMetaInfo>);
        // SAFETY: GstMetaInfo is registered once and never changes.
        unsafe impl Send for Info {}
        unsafe impl Sync for Info {}

        static INFO: LazyLock<Info> = LazyLock::new(|| unsafe {
            Info(
                ptr::NonNull::new(gst::ffi::gst_meta_register(
                    meta_api_get_type().into_glib(),
                    c"SlateMeta".as_ptr(),
                    std::mem::size_of::<SlateMetaFfi>(),
                    Some(init),
                    Some(free),
                    Some(transform),
                ) as *mut gst::ffi::GstMetaInfo)
                .expect("SlateMeta could not be registered"),
            )
        });
        INFO.0.as_ptr()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gst::glib::translate::ToGlibPtr;

    #[test]
    fn meta_holds_a_record_and_copies_with_the_buffer() {
        gst::init().unwrap();
        let mut buffer = gst::Buffer::with_size(16).unwrap();
        let mut record = Record::default();
        record.set("shot", "s1");
        SlateMeta::add(buffer.get_mut().unwrap(), record.clone());

        let mut more = Record::default();
        more.set("take", 2i64);
        SlateMeta::add(buffer.get_mut().unwrap(), more);
        assert_eq!(
            buffer.iter_meta::<SlateMeta>().count(),
            1,
            "adding twice merges into one meta"
        );

        let copy = buffer.copy();
        let got = SlateMeta::record_of(&copy);
        assert_eq!(got.get("shot").and_then(|v| v.as_text()), Some("s1"));
        assert_eq!(got.get("take").and_then(|v| v.as_int()), Some(2));
        drop(buffer);
        assert_eq!(SlateMeta::record_of(&copy), got, "the copy owns its record");
    }

    #[test]
    fn the_video_scale_transform_rescales_boxes() {
        gst::init().unwrap();
        let mut input = gst::Buffer::with_size(16).unwrap();
        let mut record = Record::default();
        let face = record.add_object("face");
        record.object_mut(face).unwrap().bbox = Some(slate_meta::BoundingBox {
            x: 32.0,
            y: 24.0,
            w: 64.0,
            h: 48.0,
        });
        SlateMeta::add(input.get_mut().unwrap(), record);
        let mut output = gst::Buffer::with_size(16).unwrap();

        let from = gst_video::VideoInfo::builder(gst_video::VideoFormat::Rgba, 320, 240)
            .build()
            .unwrap();
        let to = gst_video::VideoInfo::builder(gst_video::VideoFormat::Rgba, 640, 120)
            .build()
            .unwrap();
        unsafe {
            let meta = input.meta::<SlateMeta>().unwrap();
            let raw = meta.as_ptr() as *mut gst::ffi::GstMeta;
            let mut scale = gst_video::ffi::GstVideoMetaTransform {
                in_info: from.to_glib_none().0 as *mut _,
                out_info: to.to_glib_none().0 as *mut _,
            };
            let transform = (*(*raw).info).transform_func.unwrap();
            let done = transform(
                output.get_mut().unwrap().as_mut_ptr(),
                raw,
                input.as_mut_ptr(),
                gst_video::ffi::gst_video_meta_transform_scale_get_quark(),
                &mut scale as *mut _ as glib::ffi::gpointer,
            );
            assert_eq!(done, glib::ffi::GTRUE);
        }
        let scaled = SlateMeta::record_of(&output);
        assert_eq!(
            scaled.objects()[0].bbox,
            Some(slate_meta::BoundingBox {
                x: 64.0,
                y: 12.0,
                w: 128.0,
                h: 24.0
            })
        );
    }
}
