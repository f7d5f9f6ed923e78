# The seed example with the heights centred and scaled: h = (x - 170)/10 is a student's height
# in tens of centimetres above 170. The fitted line is the same, but gradient descent no
# longer crawls along a narrow valley, so the learning-rate experiment reads clearly:
#
#   gdc lr-sweep examples/students_scaled.gd examples/students.csv --map x=height,Y=weight \
#       --lr 0.01,0.1,0.5,1.1 --plot sweep.png
let h = (x - 170)/10
model y = m*h + b
loss mean((y - Y)^2)
