"""Import files (JSON / JSONL up to 100 MB): streaming record readers, format detection, and the
mapping of each record onto spans or a conversation. Pure: the import service does the I/O."""

from mao.domain.imports.convert import Converted, RecordError, convert, normalise_format
from mao.domain.imports.detect import Detection, UndetectableFormat, classify, detect
from mao.domain.imports.reader import FileStructureError, RawRecord, iter_records

__all__ = ["Converted", "Detection", "FileStructureError", "RawRecord", "RecordError", "UndetectableFormat",
           "classify", "convert", "detect", "iter_records", "normalise_format"]
