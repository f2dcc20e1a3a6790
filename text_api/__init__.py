"""The text API (texts in, labels out) that the HTTP gateway and the Lambda handler both answer.

One payload parser (`payload`), one error table (`errors`: every failure and
the status it gets), one route table (`routes`) and one backend protocol
(`backend`: a served model that checks, predicts and reports its status).
`text_gateway` (Starlette, in front of TF Serving) and `text_lambda` (AWS
Lambda events) are adapters that carry requests in and answers out. No web
framework and no TensorFlow here; what depends on the model's task kind is
its decoder's (`serving_client.decoders`).
"""
