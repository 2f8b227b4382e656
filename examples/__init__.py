"""Example services for klue: the petstore demo."""
