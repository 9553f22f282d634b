"""Modal screens, one module each: reject picker, correction editor and its confirmation,
help, errors, full text, argument editor, typed confirmation, a decision's comment, and
the confirmation of a bulk decision."""

from .arguments import ArgumentsEditor
from .bulk_confirm import BulkConfirm
from .comment import CommentDialog
from .confirm import ConfirmCorrection
from .correct import CorrectScreen
from .error import ErrorScreen
from .full_text import FullTextScreen
from .help import HelpScreen
from .reject import RejectDialog
from .typed_confirm import TypedConfirm

__all__ = ["ArgumentsEditor", "BulkConfirm", "CommentDialog", "ConfirmCorrection", "CorrectScreen", "ErrorScreen", "FullTextScreen",
           "HelpScreen", "RejectDialog", "TypedConfirm"]
