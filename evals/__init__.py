"""The eval suite: labelled data, training of the classifier head, metrics and reports."""
