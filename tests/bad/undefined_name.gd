param m, b
data x, Y
model y = m*x + bb
loss mean((y - Y)^2)
