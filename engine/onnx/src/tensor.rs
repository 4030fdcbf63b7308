//! Tensors as the host, plugins and scripts pass them.

/// An owned tensor.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    pub shape: Vec<i64>,
    pub data: TensorData,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TensorData {
    F32(Vec<f32>),
    I64(Vec<i64>),
    I32(Vec<i32>),
    U8(Vec<u8>),
}

/// A borrowed tensor: model inputs without copying, and outputs read in
/// place.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TensorView<'a> {
    pub shape: &'a [i64],
    pub data: ViewData<'a>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ViewData<'a> {
    F32(&'a [f32]),
    I64(&'a [i64]),
    I32(&'a [i32]),
    U8(&'a [u8]),
}

impl ViewData<'_> {
    pub fn len(&self) -> usize {
        match self {
            ViewData::F32(d) => d.len(),
            ViewData::I64(d) => d.len(),
            ViewData::I32(d) => d.len(),
            ViewData::U8(d) => d.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn kind(&self) -> &'static str {
        match self {
            ViewData::F32(_) => "float32",
            ViewData::I64(_) => "int64",
            ViewData::I32(_) => "int32",
            ViewData::U8(_) => "uint8",
        }
    }

    pub fn to_owned(self) -> TensorData {
        match self {
            ViewData::F32(d) => TensorData::F32(d.to_vec()),
            ViewData::I64(d) => TensorData::I64(d.to_vec()),
            ViewData::I32(d) => TensorData::I32(d.to_vec()),
            ViewData::U8(d) => TensorData::U8(d.to_vec()),
        }
    }
}

impl Tensor {
    pub fn f32(shape: Vec<i64>, data: Vec<f32>) -> Tensor {
        Tensor {
            shape,
            data: TensorData::F32(data),
        }
    }

    pub fn view(&self) -> TensorView<'_> {
        TensorView {
            shape: &self.shape,
            data: match &self.data {
                TensorData::F32(d) => ViewData::F32(d),
                TensorData::I64(d) => ViewData::I64(d),
                TensorData::I32(d) => ViewData::I32(d),
                TensorData::U8(d) => ViewData::U8(d),
            },
        }
    }

    /// The data as floats, if it is.
    pub fn as_f32(&self) -> Option<&[f32]> {
        match &self.data {
            TensorData::F32(d) => Some(d),
            _ => None,
        }
    }
}

impl TensorView<'_> {
    /// Elements the shape says there are (None for negative dims).
    pub fn elements(&self) -> Option<usize> {
        self.shape
            .iter()
            .try_fold(1usize, |n, d| usize::try_from(*d).ok().and_then(|d| n.checked_mul(d)))
    }
}
