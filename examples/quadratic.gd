# A parabola through the data, fitted by least squares.
model y = a*x^2 + b*x + c
loss mean((y - Y)^2)
